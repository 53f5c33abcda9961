"""Many CDAP triggers in one event loop, as in one triggerer process: loop lag, CPU and memory.

``python -m benchmarks.scale --url URL --triggers N`` runs N triggers of one connection against the CDAP
emulator at ``URL`` (runs that never end), all started at once as a triggerer does after a restart.
After one poll interval of start-up it measures, for ``--intervals`` poll intervals: how late the loop
wakes a task that sleeps 50 ms (the lag every trigger and the triggerer's own heartbeat suffer), the
CPU used, the polls the emulator answered, and the memory the triggers added, per trigger. Prints
one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import time
from typing import Any

from benchmarks.common import api_requests, cpu_seconds, percentile, post_json, rss_kib, start_cdap_runs

TICK = 0.05


async def _lag_monitor(samples: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(TICK)
        samples.append(max(0.0, loop.time() - before - TICK))


async def _watch(trigger: Any, ended: list[Any]) -> None:
    async for event in trigger.run():
        ended.append(event.payload)


async def _run(url: str, triggers: int, poll_interval: float, intervals: int, runs: int) -> dict[str, Any]:
    from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger

    refs = start_cdap_runs(url, runs)
    # Warm up what one trigger needs (imports, the connection), so it is not counted per trigger.
    warm = CdapPipelineRunTrigger(conn_id="cdap_default", run_ref=refs[0], poll_interval=poll_interval)
    async with warm.hook.async_client() as client:
        await warm.hook.aget_run_status(refs[0], client)
    del warm, client
    gc.collect()
    baseline_rss = rss_kib()

    ended: list[Any] = []
    lags: list[float] = []
    monitor = asyncio.ensure_future(_lag_monitor(lags))
    started = time.monotonic()
    tasks = [
        asyncio.ensure_future(
            _watch(
                CdapPipelineRunTrigger(
                    conn_id="cdap_default", run_ref=refs[i % len(refs)], poll_interval=poll_interval
                ),
                ended,
            )
        )
        for i in range(triggers)
    ]
    await asyncio.sleep(poll_interval)  # start-up: every trigger's first poll
    startup_lags = list(lags)
    lags.clear()
    polls_before, cpu_before, window_start = api_requests(url), cpu_seconds(), time.monotonic()
    await asyncio.sleep(poll_interval * intervals)
    window = time.monotonic() - window_start
    cpu = cpu_seconds() - cpu_before
    polls = api_requests(url) - polls_before
    rss = rss_kib()
    window_lags = list(lags)
    monitor.cancel()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    expected = triggers * window / poll_interval
    return {
        "triggers": triggers,
        "poll_interval": poll_interval,
        "window_s": round(window, 1),
        "lag_p50_ms": round(percentile(window_lags, 0.50) * 1000, 1),
        "lag_p99_ms": round(percentile(window_lags, 0.99) * 1000, 1),
        "lag_max_ms": round(max(window_lags, default=0.0) * 1000, 1),
        "startup_lag_max_ms": round(max(startup_lags, default=0.0) * 1000, 1),
        "cpu_percent": round(100 * cpu / window, 1),
        "polls_per_s": round(polls / window, 1),
        "polls_expected_per_s": round(expected / window, 1),
        "rss_per_trigger_kib": round((rss - baseline_rss) / triggers, 1),
        "ended_early": len(ended),
        "seconds": round(time.monotonic() - started, 1),
    }


def measure(url: str, triggers: int, poll_interval: float = 10.0, intervals: int = 2, runs: int = 100) -> Any:
    logging.disable(logging.WARNING)
    os.environ["AIRFLOW_CONN_CDAP_DEFAULT"] = json.dumps({"conn_type": "cdap", "host": url})
    post_json(url + "/_emulator/reset", {})
    return asyncio.run(_run(url, triggers, poll_interval, intervals, runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="the CDAP emulator")
    parser.add_argument("--triggers", type=int, required=True)
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--intervals", type=int, default=2, help="poll intervals measured")
    parser.add_argument("--runs", type=int, default=100, help="distinct runs the triggers watch")
    args = parser.parse_args()
    print(json.dumps(measure(args.url, args.triggers, args.poll_interval, args.intervals, args.runs)))


if __name__ == "__main__":
    main()
