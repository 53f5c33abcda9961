"""CPU per status poll of a Daggy run, by the run's size: a one-task run against a run of 1,000 tasks
whose finished attempts hold 20 MB of logs.

Both runs stay RUNNING for the whole benchmark (one ``sleep long`` task that never ends; in the large
run, every other task has completed and left its log). Each is watched by a real ``DaggyRunTrigger``
with a poll interval of 0 against the Daggy emulator (another process). A trigger's first polls read
the run document (its state is new to the hook); CPU is counted from the moment those are done, so
the figures are the steady state of a long wait. Side by side, the status read before issue #14 (the
whole run document on every poll), on the large run. The pollers take turns for several rounds; the
large run's cost is compared with the one-task run's of the same round.

``python -m benchmarks.daggy_poll_cost [--seconds S] [--rounds R] [--tasks N] [--log-mb M]`` prints
one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from unittest import mock

from airflow_provider_pipelines.core.plans import Plan
from airflow_provider_pipelines.core.states import RunStatus
from airflow_provider_pipelines.hooks.daggy import DaggyHook, format_counts, last_mapping, task_counts
from airflow_provider_pipelines.triggers.daggy import DaggyRunTrigger
from benchmarks.common import api_requests, cpu_seconds, emulator_process, pin, post_json
from benchmarks.poll_cost import paired_rounds

ONE = "one-task run"
LARGE = "large run"
BEFORE = "large run, whole document per poll (before)"
TASK_SECONDS = "0.05"
NEVER_ENDS = "1e12"  # long_factor: the "sleep long" task outlasts the benchmark

Poller = Callable[[], AsyncIterator[Any]]


class WholeDocumentHook(DaggyHook):
    """DaggyHook's status read before issue #14: the whole run document on every poll."""

    def run_status_plan(self, run: Mapping[str, Any]) -> Plan[RunStatus]:
        document = yield from self.get_run_plan(run["run_id"])
        raw = str(last_mapping(document.get("dagStateChanges")).get("state") or "")
        counts = task_counts(document.get("taskStates"))
        return RunStatus(raw, self.state_map.classify(raw), {"task_counts": counts}, format_counts(counts))


class WholeDocumentTrigger(DaggyRunTrigger):
    hook_class = WholeDocumentHook


def submit(url: str, tasks: int) -> int:
    """A run of ``tasks`` tasks: ``tasks - 1`` that complete at once and one that never ends."""
    spec: dict[str, Any] = {
        "tag": f"bench-{tasks}",
        "tasks": {"forever": {"job": {"command": ["sleep", "long"]}}},
    }
    for index in range(tasks - 1):
        spec["tasks"][f"task{index:05d}"] = {"job": {"command": ["echo", str(index)]}}
    return int(post_json(url + "/v1/dagrun", spec)["runID"])


def settled_document_bytes(url: str, run_id: int, tasks: int, timeout: float = 60.0) -> int:
    """Wait until every task but the endless one has completed; the run document's size then."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{url}/v1/dagrun/{run_id}") as reply:
            body = reply.read()
        states = json.loads(body)["taskStates"]
        done = sum(1 for state in states.values() if state == "COMPLETED")
        if done == tasks - 1 and states["forever"] == "RUNNING":
            return len(body)
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id}: {done} of {tasks - 1} tasks completed after {timeout} s")
        time.sleep(0.1)


async def _measure(make: Poller, seconds: float, url: str) -> tuple[float, int]:
    """(CPU seconds, polls) of one poller for ``seconds``, after its first reads."""

    async def loop() -> None:
        async for _ in make():
            pass

    started = api_requests(url)
    task = asyncio.ensure_future(loop())
    deadline = time.monotonic() + 30
    # The first poll of a trigger reads the state and the document; wait until two more polls are done.
    while api_requests(url) - started < 4 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    before_polls = api_requests(url)
    before_cpu = cpu_seconds()
    await asyncio.sleep(seconds)
    cpu = cpu_seconds() - before_cpu
    polls = api_requests(url) - before_polls
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return cpu, polls


async def _run(url: str, seconds: float, rounds: int, refs: dict[str, int]) -> dict[str, Any]:
    def trigger(cls: type[DaggyRunTrigger], run_id: int) -> Poller:
        return lambda: cls(conn_id="daggy_default", run_ref={"run_id": run_id}, poll_interval=0).run()

    found = {
        ONE: trigger(DaggyRunTrigger, refs[ONE]),
        LARGE: trigger(DaggyRunTrigger, refs[LARGE]),
        BEFORE: trigger(WholeDocumentTrigger, refs[LARGE]),
    }
    return await paired_rounds(
        found, lambda make, s: _measure(make, s, url), ONE, "one_task_ratio", seconds, rounds, 0.2
    )


def measure(seconds: float = 2.0, rounds: int = 5, tasks: int = 1000, log_mb: float = 20.0) -> dict[str, Any]:
    """Median CPU microseconds per poll of each poller, and its median ratio to the one-task run's."""
    logging.disable(logging.WARNING)
    log_bytes = int(log_mb * 1_000_000)
    per_attempt = -(-log_bytes // max(1, tasks - 1))
    options = ["--queued-seconds", "0", "--task-seconds", TASK_SECONDS, "--long-factor", NEVER_ENDS]
    with emulator_process("daggy", *options, "--output-log-bytes", str(per_attempt)) as emulator:
        pin(os.getpid(), emulator.pid)
        url = emulator.url
        refs = {ONE: submit(url, 1), LARGE: submit(url, tasks)}
        one_bytes = settled_document_bytes(url, refs[ONE], 1)
        large_bytes = settled_document_bytes(url, refs[LARGE], tasks)
        env = {"AIRFLOW_CONN_DAGGY_DEFAULT": json.dumps({"conn_type": "daggy", "host": url})}
        with mock.patch.dict(os.environ, env):
            pollers = asyncio.run(_run(url, seconds, rounds, refs))
    return {
        "tasks": tasks,
        "log_bytes": per_attempt * (tasks - 1),
        "document_bytes": {ONE: one_bytes, LARGE: large_bytes},
        "pollers": pollers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--log-mb", type=float, default=20.0, help="log text in the large run, MB")
    args = parser.parse_args()
    print(json.dumps(measure(args.seconds, args.rounds, args.tasks, args.log_mb)))


if __name__ == "__main__":
    main()
