"""``sspi-async packages``: the registered security packages (``EnumerateSecurityPackages``)."""

from __future__ import annotations

from typing import Any

from sspi_async.sspi import SEC_E_OK, EnumerateSecurityPackages, SecPkgInfo

__all__ = ("format_packages", "package_records")


def _packages() -> list[SecPkgInfo]:
    status, infos = EnumerateSecurityPackages()
    if status != SEC_E_OK:  # pragma: no cover - the emulator always succeeds
        raise RuntimeError(f"EnumerateSecurityPackages failed: 0x{status:08X}")
    return infos


def package_records() -> list[dict[str, Any]]:
    """One JSON-ready dict per registered package: name, capabilities (int and hex), version,
    RPC id, max token and comment, in registration order."""
    return [
        {
            "name": info.Name,
            "capabilities": info.fCapabilities,
            "capabilities_hex": f"0x{info.fCapabilities:08X}",
            "version": info.wVersion,
            "rpcid": info.wRPCID,
            "max_token": info.cbMaxToken,
            "comment": info.Comment,
        }
        for info in _packages()
    ]


def format_packages() -> str:
    """A table of the registered packages: name, capabilities in hex, max token, comment."""
    records = package_records()
    width = max([len("name"), *(len(r["name"]) for r in records)])
    lines = [f"{'name':<{width}}  {'capabilities':<12}  {'max token':>9}  comment"]
    lines += [
        f"{r['name']:<{width}}  {r['capabilities_hex']:<12}  {r['max_token']:>9}  {r['comment']}"
        for r in records
    ]
    return "\n".join(lines)
