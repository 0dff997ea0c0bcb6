"""The aiohttp application: routes, the auth and error middlewares, and the HTTPS server."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from boxk8s import errors
from boxk8s.api import discovery
from boxk8s.api.auth.filter import Security
from boxk8s.api.auth.reviews import Reviews
from boxk8s.api.handlers import ResourceHandler
from boxk8s.api.health import Check, Health, log_flushes, ping
from boxk8s.api.limits import ApiLimits, Limiter
from boxk8s.api.metrics import MetricsHandler
from boxk8s.api.request import MAX_BODY, TOO_LARGE
from boxk8s.api.respond import json_response, raw_json_response
from boxk8s.api.telemetry import Telemetry
from boxk8s.api.upgrades import close_declined_upgrades
from boxk8s.api.version import SERVER_VERSION
from boxk8s.client.metrics import GROUP as METRICS_GROUP
from boxk8s.client.metrics import MetricsSource
from boxk8s.client.podstreams import PodStreams
from boxk8s.client.workqueue import WorkQueue
from boxk8s.resources import openapi, registry
from boxk8s.resources.layer import Resources

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ApiSettings:
    host: str = "127.0.0.1"
    port: int = 6443
    token: str = ""
    limits: ApiLimits = ApiLimits()


def _status_response(err: errors.ApiError) -> web.Response:
    resp = json_response(err.status(), status=err.code, warnings=err.warnings)
    if err.retry_after is not None:
        resp.headers["Retry-After"] = str(err.retry_after)
    return resp


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.ApiError as e:
        return _status_response(e)
    except web.HTTPRequestEntityTooLarge:
        return _status_response(errors.RequestEntityTooLarge(TOO_LARGE))
    except web.HTTPNotFound:
        return _status_response(errors.NotFound("the server could not find the requested resource"))
    except web.HTTPMethodNotAllowed:
        return _status_response(errors.MethodNotAllowed("the server does not allow this method on the requested resource"))
    except web.HTTPException as e:
        if e.status >= 400:
            err = errors.ApiError(e.reason or "error")
            err.code = e.status
            err.reason = "BadRequest" if e.status == 400 else "InternalError"
            return _status_response(err)
        raise
    except (ConnectionResetError, TimeoutError):
        raise
    except Exception:  # the promise: a Status, never a traceback page
        log.exception("internal error serving %s %s", request.method, request.path)
        return _status_response(errors.InternalError("an internal error occurred; see the boxk8s log"))


def health_checks(resources: Resources, security: Security,
                  unsynced: Callable[[], list[str]] | None) -> Health:
    """The health paths' checks (api/health.py): what this API depends on."""
    store = resources.store
    roles = registry.find("rbac.authorization.k8s.io", "v1", "clusterroles")
    assert roles is not None
    cluster_admin = roles.key(None, "cluster-admin")
    policy = security.policy

    def informer_sync() -> str | None:
        pending = list(unsynced()) if unsynced else []
        if policy is not None and not policy.synced:
            pending.append("rbac")
        return f"{len(pending)} informers not started yet: {pending}" if pending else None

    def bootstrap_roles() -> str | None:
        return None if store.head_revision(cluster_admin) is not None else "the default ClusterRoles are not stored yet"

    live = [Check("ping", ping), Check("log", log_flushes), Check("etcd", store.problem)]
    return Health(live, [*live, Check("informer-sync", informer_sync),
                         Check("poststarthook/rbac/bootstrap-roles", bootstrap_roles)])


def build_app(resources: Resources, settings: ApiSettings, streams: PodStreams | None = None,
              metrics: MetricsSource | None = None, security: Security | None = None, *,
              unsynced: Callable[[], list[str]] | None = None,
              workqueues: Callable[[], Iterable[WorkQueue]] | None = None) -> web.Application:
    """The API. `metrics`: what metrics.k8s.io serves (none: its lists are empty, as before a first
    scrape). `security` says how requests are authenticated and authorized (the cluster's: RBAC,
    api/auth/filter.py); without it the settings' token is the whole of authentication.
    `unsynced` names the shared informers not synced yet (/readyz's informer-sync); `workqueues`
    the controllers' queues (/metrics)."""
    security = security or Security.token_only(settings.token)
    limiter = Limiter(settings.limits)
    telemetry = Telemetry(resources.kinds, resources.store, limiter, workqueues)
    app = web.Application(
        middlewares=[telemetry.middleware(), close_declined_upgrades, error_middleware, security.middleware(),
                     limiter.middleware()],
        client_max_size=MAX_BODY,
    )
    reviews = Reviews(resources, security.authenticator, security.authorize, security.rules_for)
    handler = ResourceHandler(resources, streams, creators=reviews.creators())
    metrics_handler = MetricsHandler(resources, metrics)
    server_address = f"{settings.host}:{settings.port}"

    async def version(_: web.Request) -> web.Response:
        return raw_json_response(SERVER_VERSION, indent=True)

    kinds = resources.kinds  # what this cluster serves, custom resources included

    async def api_root(_: web.Request) -> web.Response:
        return json_response(discovery.api_versions(server_address))

    async def apis_root(_: web.Request) -> web.Response:
        return json_response(discovery.api_group_list(kinds))

    async def core(request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        version, _, rest = tail.partition("/")
        parts = [p for p in rest.split("/")] if rest else []
        if not parts:
            doc = discovery.api_resource_list("", version, kinds)
            if doc is None:
                raise errors.NotFound("the server could not find the requested resource")
            return json_response(doc)
        return await handler.handle(request, "", version, parts)

    async def groups(request: web.Request) -> web.StreamResponse:
        segs = request.match_info["tail"].split("/")
        group = segs[0]
        if len(segs) == 1 or segs[1] == "":
            doc = discovery.api_group(group, kinds)
            if doc is None:
                raise errors.NotFound("the server could not find the requested resource")
            return json_response(doc)
        version, parts = segs[1], segs[2:]
        if group == METRICS_GROUP and (parts and parts != [""]) and version == "v1beta1":
            return await metrics_handler.handle(request, parts)
        if not parts or parts == [""]:
            doc = discovery.api_resource_list(group, version, kinds)
            if doc is None:
                raise errors.NotFound("the server could not find the requested resource")
            return json_response(doc)
        return await handler.handle(request, group, version, parts)

    async def openapi_v3_index(_: web.Request) -> web.Response:
        return raw_json_response(openapi.openapi_v3_index(kinds))

    async def openapi_v3_doc(request: web.Request) -> web.Response:
        path = request.match_info["tail"]
        if path.startswith("api/"):
            group, version = "", path[4:]
        elif path.startswith("apis/"):
            group, _, version = path[5:].partition("/")
        else:
            raise errors.NotFound("the server could not find the requested resource")
        doc = openapi.openapi_v3_document(group, version, kinds)
        if doc is None:
            raise errors.NotFound("the server could not find the requested resource")
        resp = web.Response(body=doc, content_type="application/json")
        resp.headers["Cache-Control"] = "public, immutable"
        return resp

    async def openapi_v2(request: web.Request) -> web.Response:
        accept = request.headers.get("Accept", "")
        if "com.github.proto-openapi.spec.v2" in accept:  # what kubectl asks for
            from boxk8s.api import openapi_proto  # protobuf and the document: only when asked

            resp = web.Response(body=openapi_proto.document_bytes())
            resp.headers["Content-Type"] = openapi_proto.CONTENT_TYPE
            return resp
        if accept and "json" not in accept and "*/*" not in accept:
            raise errors.NotAcceptable("/openapi/v2 is served as application/json or "
                                       "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
        return web.Response(body=openapi.openapi_v2_document(), content_type="application/json")

    async def not_found(_: web.Request) -> web.Response:
        raise errors.NotFound("the server could not find the requested resource")

    r = app.router
    r.add_get("/version", version)
    r.add_get("/version/", version)
    health_checks(resources, security, unsynced).add_routes(app)
    r.add_get("/metrics", telemetry.handle)
    r.add_get("/api", api_root)
    r.add_get("/api/", api_root)
    r.add_get("/apis", apis_root)
    r.add_get("/apis/", apis_root)
    r.add_route("*", "/api/{tail:.+}", core)
    r.add_route("*", "/apis/{tail:.+}", groups)
    r.add_get("/openapi/v3", openapi_v3_index)
    r.add_get("/openapi/v3/", openapi_v3_index)
    r.add_get("/openapi/v3/{tail:.+}", openapi_v3_doc)
    r.add_get("/openapi/v2", openapi_v2)
    r.add_route("*", "/{tail:.*}", not_found)
    return app

