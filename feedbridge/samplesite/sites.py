"""The three demo sites together, and the origin map that rebases shipped configs onto them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from feedbridge.samplesite.generic import GenericSite
from feedbridge.samplesite.kcna import KcnaSite
from feedbridge.samplesite.kcnawatch import KcnaWatchSite
from feedbridge.samplesite.server import RunningServer, serve
from feedbridge.samplesite.site import DEFAULT_TODAY, Site


def demo_sites(
    seed: int | str = 0, count: int = 50, today: date = DEFAULT_TODAY
) -> dict[str, Site]:
    """``{"kcna": …, "kcnawatch": …, "generic": …}``, each with ``count`` articles."""
    return {
        "kcna": KcnaSite(seed, count, today),
        "kcnawatch": KcnaWatchSite(seed, count, today),
        "generic": GenericSite(seed, count, today),
    }


def serve_all(sites: Mapping[str, Site], host: str = "127.0.0.1") -> dict[str, RunningServer]:
    """One server (its own origin) per site, on free ports; stop them with ``.stop()``."""
    servers: dict[str, RunningServer] = {}
    try:
        for name, site in sites.items():
            servers[name] = serve(site, host)
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def origins_map(servers: Mapping[str, RunningServer]) -> dict[str, str]:
    """Real origin → loopback origin, for ``feedbridge.config.rebase_origins``.

    kcnawatch.org is mapped for both schemes and with ``www.``, since configs and links use
    either.
    """
    out: dict[str, str] = {}
    for server in servers.values():
        site = server.site
        out[site.canonical_origin] = server.url
        if site.name == "kcnawatch":
            for alias in (
                "http://kcnawatch.org",
                "https://www.kcnawatch.org",
                "http://www.kcnawatch.org",
            ):
                out[alias] = server.url
        if site.name == "kcna":
            out["http://kcna.kp"] = server.url
            out["https://www.kcna.kp"] = server.url
    return out
