"""``python -m feedbridge.samplesite serve [--host H] [--port N]`` | ``dump DIR``."""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import date
from pathlib import Path

from feedbridge.samplesite.dump import write_cases
from feedbridge.samplesite.server import RunningServer, serve
from feedbridge.samplesite.site import DEFAULT_TODAY
from feedbridge.samplesite.sites import demo_sites


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m feedbridge.samplesite", description="Generated fixture sites on loopback."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve kcna, kcnawatch and generic, each on its own port")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument(
        "--port",
        type=int,
        default=0,
        help="first port (the sites use PORT, PORT+1, PORT+2); 0 = any free ports",
    )
    s.add_argument("--seed", default="0")
    s.add_argument("--count", type=int, default=50, help="articles per site")
    s.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="date of the newest articles (default: today)",
    )
    d = sub.add_parser("dump", help="write paired <case>.html + <case>.expected.json files")
    d.add_argument("directory", type=Path)
    d.add_argument("--seed", default="0")
    d.add_argument("--today", type=date.fromisoformat, default=DEFAULT_TODAY)
    args = parser.parse_args(argv)

    if args.command == "dump":
        for path in write_cases(args.directory, args.seed, args.today):
            print(path)
        return 0

    sites = demo_sites(args.seed, args.count, args.today or date.today())
    servers: dict[str, RunningServer] = {}
    try:
        for i, (name, site) in enumerate(sites.items()):
            servers[name] = serve(site, args.host, args.port + i if args.port else 0)
            print(
                f"{name:10} {servers[name].url}  "
                f"(listings: {' '.join(site.listing_urls(servers[name].url))})",
                flush=True,
            )
        print("Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers.values():
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
