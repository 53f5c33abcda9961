"""make bench's code runs end to end (tiny sizes, no competitors unless installed) and fills its table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_run_measures_every_section(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--reuse-airflow-home", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads((tmp_path / "results.json").read_text())
    table = (tmp_path / "results.md").read_text()

    ours = [m for m, e in figures["import_cost"].items() if e["label"] == "airflow-provider-pipelines"]
    assert len(ours) == 5 and all(figures["import_cost"][m]["median_s"] > 0 for m in ours)

    polls = figures["poll_cost"]
    trigger = polls["airflow-provider-pipelines CdapPipelineRunTrigger"]
    assert trigger["polls"] > 0 and trigger["cpu_us_per_poll"] > 0
    assert polls["bare aiohttp GET (floor)"]["polls"] > 0

    daggy = figures["daggy_poll_cost"]
    assert daggy["document_bytes"]["large run"] > daggy["log_bytes"] > 0
    for poller in ("one-task run", "large run", "large run, whole document per poll (before)"):
        assert daggy["pollers"][poller]["polls"] > 0 and daggy["pollers"][poller]["cpu_us_per_poll"] > 0

    (scale,) = figures["scale"]
    assert scale["triggers"] == 50 and scale["ended_early"] == 0
    assert scale["polls_per_s"] > 0 and scale["rss_per_trigger_kib"] is not None

    latency = figures["latency"]
    assert latency["dag_run_states"] == ["success"]
    assert 0 <= latency["max_s"] < 10

    for section in ("| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 5 |"):
        assert section in table
    assert table.strip() in done.stdout  # the table printed is the one saved
