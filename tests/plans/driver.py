"""
Plans driven by hand, without HTTP: each test gives a plan the replies a platform would send.

A plan is a generator (docs/ARCHITECTURE.md, "Plans"): ``send(None)`` gives its first call, ``send(reply)``
the next one, and its return value comes with ``StopIteration``; an error reply is thrown into it.
This helper relies on that protocol only, never on how the provider's own drivers work inside.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.plans import OPTIONS

_PENDING = object()


def api_error(
    status: int | None,
    message: str = "refused",
    *,
    platform: str = "X",
    call: str = "call",
    retryable: bool | None = None,
    sent: bool = True,
    code: str | None = None,
) -> PipelineApiError:
    """An error reply as the client raises it (retryable by default for no reply, 429 and 5xx)."""
    if retryable is None:
        retryable = status is None or status == 429 or status >= 500
    return PipelineApiError(platform, call, status, message, retryable=retryable, sent=sent, code=code)


def shape(call: Any) -> dict[str, Any]:
    """What a test checks of a call: method, path, query parameters, JSON body and ``idempotent``."""
    params = getattr(call, "params", None) or {}
    return {
        "method": call.method,
        "path": call.path,
        "params": {key: value for key, value in params.items() if value is not None},  # None: not sent
        "json": getattr(call, "json", None),
        "idempotent": getattr(call, "idempotent", True),
    }


class Driver:
    """
    One plan, driven step by step::

        plan = Driver(hook.run_status_plan(ref))  # sends None: plan.call is the first call
        plan.reply({"status": "RUNNING"})          # the next call, or the plan returned: plan.result
        plan.fail(api_error(404))                  # an error reply, thrown into the plan

    What the plan raises leaves ``reply`` / ``fail`` as it is (use ``pytest.raises``).
    """

    def __init__(self, plan: Any, options: dict[str, Any] | None = None) -> None:
        self._plan = plan if hasattr(plan, "send") else iter(plan)
        # A plan asks for the connection's options (``yield OPTIONS``): the test's, else those the
        # test set on the hook the plan belongs to (``hook.options``).
        owner = getattr(getattr(self._plan, "gi_frame", None), "f_locals", {}).get("self")
        self.options = options if options is not None else getattr(owner, "options", {})
        self.calls: list[Any] = []
        self._result: Any = _PENDING
        self._step(lambda: self._plan.send(None))

    def _step(self, advance: Any) -> Driver:
        if self.done:
            raise AssertionError(f"the plan has returned already ({self._result!r}): nothing to answer")
        try:
            call = advance()
            while call is OPTIONS:
                call = self._plan.send(self.options)
        except StopIteration as stop:
            self._result = stop.value
        else:
            self.calls.append(call)
        return self

    @property
    def done(self) -> bool:
        return self._result is not _PENDING

    @property
    def call(self) -> Any:
        """The call the plan waits on."""
        if self.done:
            raise AssertionError(f"the plan returned {self._result!r}: it waits on no call")
        return self.calls[-1]

    @property
    def result(self) -> Any:
        if not self.done:
            raise AssertionError(f"the plan still waits on {shape(self.calls[-1])}")
        return self._result

    def reply(self, value: Any) -> Driver:
        return self._step(lambda: self._plan.send(value))

    def fail(self, error: BaseException) -> Driver:
        return self._step(lambda: self._plan.throw(error))

    def answer(self, replies: Iterable[Any]) -> Driver:
        """Each reply in turn (an exception is thrown); the plan must still be waiting for each."""
        for value in replies:
            if isinstance(value, BaseException):
                self.fail(value)
            else:
                self.reply(value)
        return self


def drive(plan: Any, *replies: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Run a plan on ``replies`` (exceptions thrown) to its end: its result and the shapes of its calls."""
    driver = Driver(plan).answer(replies)
    return driver.result, [shape(call) for call in driver.calls]
