"""Subprocess entry point for tests/test_crash.py: the real ``feedbridge`` command, killed by
SIGKILL at one named moment of a refresh.

    python tests/crash_worker.py DIE_AT [feedbridge arguments …]

Random kill times (the main crash test) rarely land in the few milliseconds between a store
commit and the last feed file write; these points make those windows certain:

- ``after-store``:   entries and validators committed, no feed file written yet
- ``between-files``: the first feed file replaced, the second written to its temp file but
  not yet renamed into place
- ``before-state``:  every feed file written, the source's state not yet saved
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from feedbridge import cli, refresh
from feedbridge.store import SQLiteStore


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    if point == "after-store":
        real_publish = refresh._publish

        def publish_then_die(run: Any, changed: bool) -> bool:
            if changed:
                die()
            return real_publish(run, changed)

        refresh._publish = publish_then_die
    elif point == "between-files":
        real_replace: Callable[[Any, Any], None] = os.replace
        calls = [0]

        def replace_or_die(src: Any, dst: Any) -> None:
            calls[0] += 1
            if calls[0] == 2:
                die()
            real_replace(src, dst)

        os.replace = replace_or_die  # type: ignore[assignment]  # publish uses os.replace
    elif point == "before-state":
        real_save = SQLiteStore.save_state

        def save_or_die(self: SQLiteStore, state: Any) -> None:
            if state.status == "ok":
                die()
            real_save(self, state)

        SQLiteStore.save_state = save_or_die  # type: ignore[method-assign]
    else:
        raise SystemExit(f"crash_worker: unknown point {point!r}")


if __name__ == "__main__":
    arm(sys.argv[1])
    raise SystemExit(cli.main(sys.argv[2:]))
