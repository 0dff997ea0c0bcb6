"""Service variables in containers: envvars.FromServices (its envvars_test.go TestFromServices) and
kubelet's getServiceEnvVarMap (the `kubernetes` Service always, the namespace's with enableServiceLinks)."""

from __future__ import annotations

from typing import Any

from boxk8s.kubelet.env import resolve_env, service_env, service_links

Obj = dict[str, Any]


def svc(name: str, ip: str, *ports: tuple[str, int, str], namespace: str = "default") -> Obj:
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": ip, "ports": [{"name": n, "port": p, "protocol": proto} if n else
                                                {"port": p, "protocol": proto} for n, p, proto in ports]}}


def test_from_services() -> None:
    services = [
        svc("foo-bar", "1.2.3.4", ("", 8080, "TCP")),
        svc("abc-123", "5.6.7.8", ("u-d-p", 8081, "UDP"), ("t-c-p", 8081, "TCP")),
        svc("q-u-u-x", "9.8.7.6", ("", 8082, "TCP"), ("8083", 8083, "TCP")),
        svc("svrc-clusterip-none", "None", ("", 8082, "TCP")),
        svc("svrc-clusterip-empty", "", ("", 8082, "TCP")),
        svc("super-ipv6", "2001:DB8::", ("u-d-p", 8084, "UDP"), ("t-c-p", 8084, "TCP")),
    ]
    got = [pair for s in services for pair in service_links(s)]
    assert got == [
        ("FOO_BAR_SERVICE_HOST", "1.2.3.4"), ("FOO_BAR_SERVICE_PORT", "8080"),
        ("FOO_BAR_PORT", "tcp://1.2.3.4:8080"), ("FOO_BAR_PORT_8080_TCP", "tcp://1.2.3.4:8080"),
        ("FOO_BAR_PORT_8080_TCP_PROTO", "tcp"), ("FOO_BAR_PORT_8080_TCP_PORT", "8080"),
        ("FOO_BAR_PORT_8080_TCP_ADDR", "1.2.3.4"),
        ("ABC_123_SERVICE_HOST", "5.6.7.8"), ("ABC_123_SERVICE_PORT", "8081"),
        ("ABC_123_SERVICE_PORT_U_D_P", "8081"), ("ABC_123_SERVICE_PORT_T_C_P", "8081"),
        ("ABC_123_PORT", "udp://5.6.7.8:8081"), ("ABC_123_PORT_8081_UDP", "udp://5.6.7.8:8081"),
        ("ABC_123_PORT_8081_UDP_PROTO", "udp"), ("ABC_123_PORT_8081_UDP_PORT", "8081"),
        ("ABC_123_PORT_8081_UDP_ADDR", "5.6.7.8"), ("ABC_123_PORT_8081_TCP", "tcp://5.6.7.8:8081"),
        ("ABC_123_PORT_8081_TCP_PROTO", "tcp"), ("ABC_123_PORT_8081_TCP_PORT", "8081"),
        ("ABC_123_PORT_8081_TCP_ADDR", "5.6.7.8"),
        ("Q_U_U_X_SERVICE_HOST", "9.8.7.6"), ("Q_U_U_X_SERVICE_PORT", "8082"), ("Q_U_U_X_SERVICE_PORT_8083", "8083"),
        ("Q_U_U_X_PORT", "tcp://9.8.7.6:8082"), ("Q_U_U_X_PORT_8082_TCP", "tcp://9.8.7.6:8082"),
        ("Q_U_U_X_PORT_8082_TCP_PROTO", "tcp"), ("Q_U_U_X_PORT_8082_TCP_PORT", "8082"),
        ("Q_U_U_X_PORT_8082_TCP_ADDR", "9.8.7.6"), ("Q_U_U_X_PORT_8083_TCP", "tcp://9.8.7.6:8083"),
        ("Q_U_U_X_PORT_8083_TCP_PROTO", "tcp"), ("Q_U_U_X_PORT_8083_TCP_PORT", "8083"),
        ("Q_U_U_X_PORT_8083_TCP_ADDR", "9.8.7.6"),
        ("SUPER_IPV6_SERVICE_HOST", "2001:DB8::"), ("SUPER_IPV6_SERVICE_PORT", "8084"),
        ("SUPER_IPV6_SERVICE_PORT_U_D_P", "8084"), ("SUPER_IPV6_SERVICE_PORT_T_C_P", "8084"),
        ("SUPER_IPV6_PORT", "udp://[2001:DB8::]:8084"), ("SUPER_IPV6_PORT_8084_UDP", "udp://[2001:DB8::]:8084"),
        ("SUPER_IPV6_PORT_8084_UDP_PROTO", "udp"), ("SUPER_IPV6_PORT_8084_UDP_PORT", "8084"),
        ("SUPER_IPV6_PORT_8084_UDP_ADDR", "2001:DB8::"), ("SUPER_IPV6_PORT_8084_TCP", "tcp://[2001:DB8::]:8084"),
        ("SUPER_IPV6_PORT_8084_TCP_PROTO", "tcp"), ("SUPER_IPV6_PORT_8084_TCP_PORT", "8084"),
        ("SUPER_IPV6_PORT_8084_TCP_ADDR", "2001:DB8::"),
    ]


KUBERNETES = svc("kubernetes", "10.244.192.1", ("https", 443, "TCP"))
WEB = svc("web", "10.244.192.20", ("", 80, "TCP"), namespace="team")
OTHER = svc("db", "10.244.192.30", ("", 5432, "TCP"), namespace="elsewhere")


def test_the_kubernetes_service_always_and_the_namespace_with_links() -> None:
    linked = service_env([KUBERNETES, WEB, OTHER], "team", enable_links=True)
    assert linked["KUBERNETES_SERVICE_HOST"] == "10.244.192.1"
    assert linked["KUBERNETES_SERVICE_PORT"] == "443"
    assert linked["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert linked["KUBERNETES_PORT_443_TCP"] == "tcp://10.244.192.1:443"
    assert linked["WEB_SERVICE_HOST"] == "10.244.192.20"
    assert not any(k.startswith("DB_") for k in linked)
    unlinked = service_env([KUBERNETES, WEB, OTHER], "team", enable_links=False)
    assert set(unlinked) == {k for k in linked if k.startswith("KUBERNETES_")}


def test_container_variables_win_and_may_reference_service_ones() -> None:
    pod = {"metadata": {"namespace": "team"}, "spec": {}}
    container = {"name": "c", "env": [{"name": "KUBERNETES_SERVICE_HOST", "value": "mine"},
                                      {"name": "URL", "value": "https://$(KUBERNETES_SERVICE_HOST):$(WEB_SERVICE_PORT)"}]}
    env = dict(resolve_env(pod, container, configmaps={}, secrets={},
                           services=service_env([KUBERNETES, WEB], "team", enable_links=True)))
    assert env["KUBERNETES_SERVICE_HOST"] == "mine"
    assert env["URL"] == "https://mine:80"
    assert env["KUBERNETES_SERVICE_PORT"] == "443"
