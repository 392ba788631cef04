"""Generated fixture sites served on loopback: kcna.kp, kcnawatch.org and a generic newspaper.

Tests, ``feedbridge demo`` and the benchmarks need sites that behave like the real ones
(../shared/SITES.md) without touching the internet. Every page is generated on request from
a seed, and every article carries its truth (:class:`SampleArticle`): the exact title, date,
canonical URL, body paragraphs and the strings that must never leak into a body.

    from feedbridge.samplesite import KcnaSite, serve
    site = KcnaSite(seed=1, count=60)
    with serve(site) as server:
        urls = site.listing_urls(server.url)
        site.publish(3); site.down = True; ...

``python -m feedbridge.samplesite serve`` runs all three; ``… dump DIR`` writes paired
``<case>.html`` + ``<case>.expected.json`` files.
"""

from feedbridge.samplesite.generic import GenericSite
from feedbridge.samplesite.kcna import KcnaSite
from feedbridge.samplesite.kcnawatch import KcnaWatchSite
from feedbridge.samplesite.server import LoggedRequest, RunningServer, serve
from feedbridge.samplesite.site import (
    DEFAULT_TODAY,
    Request,
    Response,
    SampleArticle,
    Site,
)
from feedbridge.samplesite.sites import demo_sites, origins_map, serve_all

__all__ = [
    "DEFAULT_TODAY",
    "GenericSite",
    "KcnaSite",
    "KcnaWatchSite",
    "LoggedRequest",
    "Request",
    "Response",
    "RunningServer",
    "SampleArticle",
    "Site",
    "demo_sites",
    "origins_map",
    "serve",
    "serve_all",
]
