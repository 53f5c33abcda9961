"""
Triggers of one connection share a client in the triggerer. What a platform's calls need from the
connection (EnOS's org and user ids, FlowEngine's engine key) travels with that client, so a trigger
whose hook did not open it sends the same values as the one that did.
"""

from __future__ import annotations

import asyncio
from typing import Any

from airflow_provider_pipelines.core.client_pool import open_clients
from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.hooks.enos import EnosHook
from airflow_provider_pipelines.hooks.flowengine import FlowEngineHook
from airflow_provider_pipelines.triggers.enos import EnosFlowInstanceTrigger
from airflow_provider_pipelines.triggers.flowengine import FlowEnginePipelineRunTrigger


async def _event(trigger: PipelineRunTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("no event")


def events_of_a_late_joiner(first: PipelineRunTrigger, second: PipelineRunTrigger) -> list[dict[str, Any]]:
    """Both triggers' events; ``second`` starts only once ``first`` has opened the shared client."""

    async def main() -> list[dict[str, Any]]:
        first_task = asyncio.ensure_future(_event(first))
        while open_clients() == 0:
            await asyncio.sleep(0.01)
        assert not first_task.done()
        second_event = await _event(second)
        return [await first_task, second_event]

    return asyncio.run(asyncio.wait_for(main(), timeout=30))


def test_enos_trigger_on_a_client_another_trigger_opened(enos: Any) -> None:
    hook = EnosHook()
    first, second = hook.trigger_flow(101), hook.trigger_flow(102)
    events = events_of_a_late_joiner(
        EnosFlowInstanceTrigger(conn_id="enos_default", run_ref=hook.flow_ref(first), poll_interval=0.05),
        EnosFlowInstanceTrigger(conn_id="enos_default", run_ref=hook.flow_ref(second), poll_interval=0.05),
    )
    assert [(e["status"], e["run"]["run_id"]) for e in events] == [("success", first), ("success", second)]


def test_flowengine_trigger_on_a_client_another_trigger_opened(flowengine: Any) -> None:
    hook = FlowEngineHook()
    refs = [hook.run_ref(1, hook.start_pipeline(1)["id"]) for _ in range(2)]  # type: ignore[index]
    events = events_of_a_late_joiner(
        *(
            FlowEnginePipelineRunTrigger(conn_id="flowengine_default", run_ref=ref, poll_interval=0.05)
            for ref in refs
        )
    )
    assert [(e["status"], e["run"]) for e in events] == [("success", refs[0]), ("success", refs[1])]
