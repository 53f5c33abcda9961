"""CPU per status poll: our CDAP trigger, a bare aiohttp GET, Google's and the http provider's triggers.

Each poller runs its real loop with a poll interval of 0 against the CDAP emulator (another process),
for a fixed time; CPU is this process's, polls are what the emulator answered. The pollers take turns
for several rounds and each keeps its median, so a noisy moment does not favour one of them.

``python -m benchmarks.poll_cost [--seconds S] [--rounds R]`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from unittest import mock

from benchmarks.common import (
    FOREVER,
    api_requests,
    cpu_seconds,
    emulator_process,
    median,
    pin,
    start_cdap_runs,
)

Poller = Callable[[], AsyncIterator[Any]]
FLOOR = "bare aiohttp GET (floor)"


async def _bare_aiohttp(url: str) -> AsyncIterator[Any]:
    """The floor: one kept-alive session, GET and read the body, nothing else."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url) as reply:
                await reply.read()
            await asyncio.sleep(0)
            yield None


def pollers(base_url: str, ref: dict[str, Any]) -> dict[str, Poller]:
    """name -> the poll loop to run; a competitor that is not installed is left out."""
    app = f"{base_url}/v3/namespaces/default/apps/{ref['pipeline_name']}"
    run_url = f"{app}/workflows/DataPipelineWorkflow/runs/{ref['run_id']}"
    found: dict[str, Poller] = {FLOOR: lambda: _bare_aiohttp(run_url)}

    from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger

    found["airflow-provider-pipelines CdapPipelineRunTrigger"] = lambda: CdapPipelineRunTrigger(
        conn_id="cdap_default", run_ref=ref, poll_interval=0
    ).run()
    try:
        from airflow.providers.google.cloud.triggers.datafusion import DataFusionStartPipelineTrigger
    except ImportError:
        pass
    else:
        found["Google DataFusionStartPipelineTrigger"] = lambda: DataFusionStartPipelineTrigger(
            instance_url=base_url,
            namespace="default",
            pipeline_name=ref["pipeline_name"],
            pipeline_id=ref["run_id"],
            pipeline_type="batch",
            poll_interval=0,
        ).run()
    try:
        from airflow.providers.http.triggers.http import HttpSensorTrigger
    except ImportError:
        pass
    else:
        # It waits for a 200; a run that does not exist (404) keeps it polling the same route.
        missing = run_url.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        found["http provider HttpSensorTrigger"] = lambda: HttpSensorTrigger(
            endpoint=missing.removeprefix(base_url), http_conn_id="http_bench", poke_interval=0
        ).run()
    return found


class _FakeGoogleToken:
    """Google's token endpoint cannot be reached here: every token request answers at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    async def __aenter__(self) -> _FakeGoogleToken:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def get(self) -> str:
        return "bench-token"


async def _measure(make: Poller, seconds: float, url: str) -> tuple[float, int]:
    """(CPU seconds, polls) of one poller running for ``seconds``."""

    async def loop() -> None:
        async for _ in make():
            pass

    before_polls = api_requests(url)
    before_cpu = cpu_seconds()
    task = asyncio.ensure_future(loop())
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    cpu = cpu_seconds() - before_cpu
    return cpu, api_requests(url) - before_polls


async def paired_rounds(
    found: Mapping[str, Poller],
    measure_one: Callable[[Poller, float], Awaitable[tuple[float, int]]],
    reference: str,
    ratio_key: str,
    seconds: float,
    rounds: int,
    warm_up: float,
) -> dict[str, Any]:
    """CPU per poll of each poller, in ``rounds`` alternating rounds, with its ratio to ``reference``
    measured in the same round: the machine's slow spells cancel out."""
    samples: dict[str, list[float]] = {name: [] for name in found}
    ratios: dict[str, list[float]] = {name: [] for name in found}
    polls: dict[str, int] = dict.fromkeys(found, 0)
    for make in found.values():  # warm-up: imports, first connections, the emulator's caches
        await measure_one(make, warm_up)
    for _ in range(rounds):
        costs = {}
        for name, make in found.items():
            cpu, count = await measure_one(make, seconds)
            polls[name] += count
            if count:
                costs[name] = cpu / count
                samples[name].append(cpu / count)
        if costs.get(reference):
            for name, cost in costs.items():
                ratios[name].append(cost / costs[reference])
    return {
        name: {
            "cpu_us_per_poll": round(median(values) * 1e6, 1),
            ratio_key: round(median(ratios[name]), 2),
            "polls": polls[name],
            "rounds": len(values),
        }
        for name, values in samples.items()
    }


async def _run(url: str, seconds: float, rounds: int, ref: dict[str, Any]) -> dict[str, Any]:
    return await paired_rounds(
        pollers(url, ref), lambda make, s: _measure(make, s, url), FLOOR, "floor_ratio", seconds, rounds, 0.3
    )


def measure(seconds: float = 2.0, rounds: int = 5) -> dict[str, Any]:
    """Median CPU microseconds per poll of each poller, and its median ratio to the floor's."""
    logging.disable(logging.WARNING)  # every poller's log lines cost the same to drop: none is written
    with emulator_process("cdap", "--running-seconds", FOREVER) as emulator:
        pin(os.getpid(), emulator.pid)
        url = emulator.url
        (ref,) = start_cdap_runs(url, 1)
        env = {
            "AIRFLOW_CONN_CDAP_DEFAULT": json.dumps({"conn_type": "cdap", "host": url}),
            "AIRFLOW_CONN_HTTP_BENCH": json.dumps({"conn_type": "http", "host": url}),
            "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": json.dumps({"conn_type": "google_cloud_platform"}),
        }
        with mock.patch.dict(os.environ, env), _google_token_stub():
            return asyncio.run(_run(url, seconds, rounds, ref))


@contextlib.contextmanager
def _google_token_stub() -> Any:
    try:
        import airflow.providers.google.cloud.hooks.datafusion as datafusion
    except ImportError:
        yield
        return
    with mock.patch.object(datafusion, "Token", _FakeGoogleToken):
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(measure(args.seconds, args.rounds)))


if __name__ == "__main__":
    main()
