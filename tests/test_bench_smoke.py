"""Smoke test of the benchmark command: the smallest scenario at tiny sizes, output shape only
(timings are not asserted: they belong to ``python -m bench``, not to the test run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_publishing_writes_table_and_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "5", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "5 publishing" in proc.stdout
    assert "verdict" in proc.stdout  # the table header
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["args"]["quick"] is True
    assert data["machine"]["cores"] >= 1
    [scenario] = data["scenarios"]
    assert scenario["scenario"] == "5 publishing"
    names = [m["name"] for m in scenario["metrics"]]
    assert any(n.startswith("render atom") for n in names)
    assert any(n.startswith("publish Atom+RSS+JSON") for n in names)
    for m in scenario["metrics"]:
        assert set(m) >= {"name", "value", "unit", "ratio", "target", "met"}
        assert m["value"] > 0
    target = next(m for m in scenario["metrics"] if m["target"])
    assert target["ratio"] is not None and target["met"] in (True, False)
    assert set(scenario["details"]["render_ms"]) == {"atom", "rss", "json"}
