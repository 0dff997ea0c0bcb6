"""The cluster seen from outside: commands that talk HTTPS to a running cluster's API with its own
kubeconfig (`status`, `logs`, `node stop|start`), as kubectl would.

`client.py` is the client (the standard library's http.client, so `boxk8s status` starts in a few
tens of milliseconds; aiohttp only for the streams of `logs -f`), `workloads.py` the pure
reading of workloads and their pods, `status.py` and `logs.py` the two commands.
"""
