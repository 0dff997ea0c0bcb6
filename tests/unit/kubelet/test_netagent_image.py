"""The network agent's image: the host's tools and the libraries ldd names for them."""

from __future__ import annotations

import io
import shutil
import tarfile

import pytest

from boxk8s.kubelet.runtime import netagent_image

LDD = """\
\tlinux-vdso.so.1 (0x00007ffbef277000)
\tlibxtables.so.12 => /lib/x86_64-linux-gnu/libxtables.so.12 (0x00007ffbef1b1000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007ffbeef94000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007ffbef279000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007ffbeef94000)
\tlibmissing.so.1 => not found
"""


def test_parse_ldd_keeps_each_library_file_once() -> None:
    assert netagent_image.parse_ldd(LDD) == [
        "/lib/x86_64-linux-gnu/libxtables.so.12", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]


def test_a_missing_tool_is_named_with_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(netagent_image.NetworkAgentUnavailable, match="`nft` was not found.*nftables"):
        netagent_image.find_tool("nft")


@pytest.mark.skipif(not (shutil.which("nft", path="/usr/sbin:/sbin") and shutil.which("ip", path="/usr/sbin:/sbin:/bin")),
                    reason="the host has no nft/ip")
def test_the_tar_holds_pause_the_tools_and_their_libraries_and_is_reproducible() -> None:
    tar, digest = netagent_image.agent_tar("x86_64")
    names = tarfile.open(fileobj=io.BytesIO(tar)).getnames()
    assert {"pause", "bin/nft", "bin/ip"} <= set(names)
    assert any(n.endswith("libc.so.6") for n in names)
    assert netagent_image.agent_tar("x86_64")[1] == digest
