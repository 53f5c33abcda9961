"""What the benchmarks share: an emulator in its own process, the process's CPU and memory, statistics."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# A run that lasts the whole benchmark: the pollers always read RUNNING.
FOREVER = "1000000"


@dataclass(frozen=True)
class Emulator:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time the emulator process has used (user and system)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def emulator_process(platform: str = "cdap", *options: str) -> Iterator[Emulator]:
    """The platform's emulator in a child process (its CPU is not the benchmark's)."""
    command = [sys.executable, "-m", "airflow_provider_pipelines.emulators", platform, "--port", "0"]
    process = subprocess.Popen([*command, *options], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if match is None:
            raise RuntimeError(f"the {platform} emulator did not start: {line!r}")
        yield Emulator(match.group(1), process.pid)
    finally:
        process.terminate()
        process.wait(10)


def api_requests(url: str) -> int:
    """How many API requests the emulator has answered (its control API is not counted)."""
    with urllib.request.urlopen(url + "/_emulator/stats") as reply:
        stats = json.load(reply)
    return sum(int(count) for count in stats["requests"].values())


def post_json(url: str, body: Any) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request) as reply:
        return json.load(reply)


def start_cdap_runs(url: str, count: int, pipeline: str = "bench") -> list[dict[str, Any]]:
    """``count`` runs started through CDAP's batch start; their run refs, as a trigger gets them."""
    refs: list[dict[str, Any]] = []
    while len(refs) < count:
        batch = min(100, count - len(refs))
        programs = [
            {
                "appId": f"{pipeline}{len(refs) + i}",
                "programType": "workflow",
                "programId": "DataPipelineWorkflow",
            }
            for i in range(batch)
        ]
        for reply in post_json(url + "/v3/namespaces/default/start", programs):
            refs.append(
                {
                    "run_id": reply["runId"],
                    "pipeline_name": reply["appId"],
                    "namespace": "default",
                    "pipeline_type": "batch",
                }
            )
    return refs


def pin(measured: int, server: int) -> None:
    """With two CPUs or more, the measured process on one and the server on another: neither takes
    the other's CPU or caches, and the measured process does not migrate mid-run."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(measured, {cpus[0]})
        os.sched_setaffinity(server, {cpus[1]})


def rss_kib(pid: int | None = None) -> int:
    """Resident memory of a process, KiB."""
    with open(f"/proc/{pid or os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc")


def cpu_seconds() -> float:
    """CPU time of this process (all threads), user and system."""
    return time.process_time()


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0
