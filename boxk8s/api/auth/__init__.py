"""Authentication and authorization of API requests, as the apiserver's filter chain does them:
who is asking (`authn`: the kubeconfig's bearer token, ServiceAccount tokens, anonymous), as whom
(`impersonation`), for what (`requestinfo`), and whether they may (`authorizer` over `rbac`, a pure
decision on plain data kept current by informers in `policy`). `filter` wires them into the aiohttp
app; `reviews` serves the create-only review kinds (TokenReview, the access reviews)."""
