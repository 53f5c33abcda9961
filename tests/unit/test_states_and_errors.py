"""The state model, the provider's exceptions and the text helpers behind every error message."""

from __future__ import annotations

import pickle

import pytest

from airflow_provider_pipelines.core.compat import AirflowException
from airflow_provider_pipelines.core.errors import (
    PipelineApiError,
    PipelineError,
    PipelineRunFailed,
    PipelineRunTimeout,
    redact,
    summarize,
)
from airflow_provider_pipelines.core.replies import server_message
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap
from airflow_provider_pipelines.hooks.cdap import CDAP_STATES

STATES = StateMap(
    {
        "Queued": RunState.PENDING,
        "running": RunState.RUNNING,
        "DONE": RunState.SUCCESS,
        "ERROR": RunState.FAILED,
    }
)


# -- StateMap -------------------------------------------------------------------------------------------


def test_classify_ignores_case() -> None:
    assert STATES.classify("queued") is RunState.PENDING
    assert STATES.classify("RUNNING") is RunState.RUNNING
    assert STATES.classify("Done") is RunState.SUCCESS
    assert STATES.classify("error") is RunState.FAILED


@pytest.mark.parametrize("raw", [None, "", "PAUSED", "DONE "])
def test_unknown_states_are_unknown_never_success(raw: str | None) -> None:
    state = STATES.classify(raw)
    assert state is RunState.UNKNOWN
    assert not state.terminal


def test_success_states_replace_and_failure_states_add() -> None:
    assert STATES.classify("running", success_states=["Running"]) is RunState.SUCCESS
    assert STATES.classify("DONE", success_states=["RUNNING"]) is RunState.FAILED  # replaced
    assert STATES.classify("ERROR", success_states=["RUNNING"]) is RunState.FAILED
    assert STATES.classify("queued", success_states=["RUNNING"]) is RunState.PENDING
    assert STATES.classify("running", failure_states=["running"]) is RunState.FAILED
    assert STATES.classify("DONE", failure_states=["RUNNING"]) is RunState.SUCCESS
    assert STATES.classify("PAUSED", failure_states=["paused"]) is RunState.FAILED
    assert STATES.classify("PAUSED", success_states=[]) is RunState.UNKNOWN
    assert STATES.classify("DONE", success_states=[]) is RunState.FAILED  # nothing counts as success


def test_success_wins_when_a_state_is_listed_as_both() -> None:
    assert STATES.classify("DONE", success_states=["DONE"], failure_states=["DONE"]) is RunState.SUCCESS


def test_names_and_terminal() -> None:
    assert CDAP_STATES.names(RunState.FAILED) == ["FAILED", "KILLED", "REJECTED"]
    assert CDAP_STATES.names(RunState.SUCCESS) == ["COMPLETED"]
    assert CDAP_STATES.names(RunState.RUNNING) == ["RESUMING", "RUNNING", "STOPPING", "SUSPENDED"]
    assert [s for s in RunState if s.terminal] == [RunState.SUCCESS, RunState.FAILED]
    assert RunStatus("COMPLETED", RunState.SUCCESS).terminal
    assert not RunStatus("STOPPING", RunState.RUNNING).terminal
    assert RunState.SUCCESS == "success"  # a str enum: travels in events as is


# -- errors ---------------------------------------------------------------------------------------------


def test_api_error_message_names_platform_call_status_and_reason() -> None:
    error = PipelineApiError("CDAP", "start pipeline", 404, "App: sales not found")
    assert str(error) == "CDAP start pipeline failed (HTTP 404): App: sales not found"
    assert error.not_found
    assert not error.retryable
    assert error.sent
    assert error.retry_after is None

    lost = PipelineApiError("CDAP", "get run", None, "connection error: reset", retryable=True, sent=False)
    assert str(lost) == "CDAP get run failed (no reply): connection error: reset"
    assert not lost.not_found


def test_error_hierarchy() -> None:
    for cls in (PipelineApiError, PipelineRunFailed, PipelineRunTimeout):
        assert issubclass(cls, PipelineError)
    assert issubclass(PipelineError, AirflowException)


def test_api_error_survives_pickling() -> None:
    error = PipelineApiError("CDAP", "get run", 429, "slow down", retryable=True, retry_after=2.5, sent=False)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is PipelineApiError
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert (
        copy.platform,
        copy.call,
        copy.status,
        copy.message,
        copy.retryable,
        copy.retry_after,
        copy.sent,
    ) == (
        "CDAP",
        "get run",
        429,
        "slow down",
        True,
        2.5,
        False,
    )


def test_redact() -> None:
    assert redact("Bearer abcd1234 failed for abcd1234", ["abcd1234"]) == "Bearer *** failed for ***"
    assert redact("key abcdef and abcd", ["abcd", "abcdef"]) == "key *** and ***"  # longest first
    assert redact("pin 123 in 1234", ["123"]) == "pin 123 in 1234"  # under 4 characters: too common to hide
    assert redact("nothing here", ["", "absent-secret"]) == "nothing here"
    assert redact("text", []) == "text"


def test_summarize() -> None:
    html = "<html><head><title>502 Bad Gateway</title></head>\n<body>\n  <h1>Bad   Gateway</h1></body></html>"
    assert summarize(html) == "502 Bad Gateway Bad Gateway"
    long = summarize("x" * 600)
    assert len(long) == 500
    assert long.endswith("…")
    assert summarize("abcdef", limit=4) == "abc…"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"message": "App: x not found"}', "App: x not found"),
        (b'{"error": "invalid_grant", "error_description": "bad"}', "invalid_grant"),
        (b'{"detail": {"reason": "quota"}}', '{"reason": "quota"}'),
        (b'{"code": 7}', '{"code": 7}'),
        (b"'runid' 'x' not found.", "'runid' 'x' not found."),
        (b"<h1>Service   Unavailable</h1>", "Service Unavailable"),
        (b"", "(empty reply)"),
        (b"\xff\xfe oops", "\ufffd\ufffd oops"),
    ],
)
def test_server_message(body: bytes, message: str) -> None:
    assert server_message(body) == message
