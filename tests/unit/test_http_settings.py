"""From a connection to HTTP settings, and the retry policy both clients share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from tenacity import Retrying

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.plans import ApiCall
from airflow_provider_pipelines.core.retry import RetryPolicy, parse_retry_after
from airflow_provider_pipelines.core.settings import HttpSettings, base_url_from
from airflow_provider_pipelines.core.urls import url_path

# -- base URL -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "schema", "port", "url"),
    [
        ("http://cdap:11015", None, None, "http://cdap:11015"),
        ("http://cdap:11015/", None, 9999, "http://cdap:11015"),  # the host's own port wins
        (
            "https://df-proj-dot-euw1.datafusion.googleusercontent.com/api",
            None,
            None,
            "https://df-proj-dot-euw1.datafusion.googleusercontent.com/api",
        ),
        ("https://df.example.com/api/", None, None, "https://df.example.com/api"),
        ("cdap.internal", "http", 11015, "http://cdap.internal:11015"),
        ("cdap.internal", None, None, "https://cdap.internal"),  # https unless told otherwise
        ("cdap.internal", "default", 8443, "https://cdap.internal:8443"),  # not a scheme: ignored
        ("  cdap.internal/api  ", "http", 80, "http://cdap.internal:80/api"),
        ("http://[::1]:11015/api", None, None, "http://[::1]:11015/api"),
    ],
)
def test_base_url_from(host: str, schema: str | None, port: int | None, url: str) -> None:
    assert base_url_from(host, schema=schema, port=port) == url


def test_base_url_default_and_missing_host() -> None:
    assert base_url_from(None, default="https://api.example.com/") == "https://api.example.com"
    assert base_url_from("  ", default="https://api.example.com") == "https://api.example.com"
    with pytest.raises(ValueError, match="the connection has no host"):
        base_url_from("")


# -- settings from a connection -------------------------------------------------------------------------


def test_defaults() -> None:
    settings = HttpSettings.from_connection("http://cdap:11015/api/")
    assert settings.base_url == "http://cdap:11015/api"
    assert settings.verify is True
    assert (settings.connect_timeout, settings.read_timeout) == (10.0, 60.0)
    assert settings.max_reply_bytes == 32 * 1024 * 1024
    assert settings.retry == RetryPolicy()
    assert settings.url("/v3/namespaces/default") == "http://cdap:11015/api/v3/namespaces/default"


def test_number_fields_cleared_in_the_form_mean_the_defaults() -> None:
    cleared = {name: None for name in ("connect_timeout", "timeout", "retry_attempts", "retry_max_wait")}
    settings = HttpSettings.from_connection("http://h", extras={**cleared, "max_connections": None})
    assert settings == HttpSettings.from_connection("http://h")


def test_extras_as_the_connection_form_stores_them() -> None:
    settings = HttpSettings.from_connection(
        "cdap",
        schema="http",
        port=11015,
        extras={
            "verify": "true",
            "ca_bundle": "/etc/ssl/corp.pem",
            "connect_timeout": "2.5",
            "timeout": 30,
            "max_reply_bytes": "1024",
            "retry_attempts": "3",
            "retry_initial_wait": "0.1",
            "retry_max_wait": 2,
            "retry_max_retry_after": "60",
        },
        headers={"X-Team": "data"},
    )
    assert settings.base_url == "http://cdap:11015"
    assert settings.verify == "/etc/ssl/corp.pem"
    assert (settings.connect_timeout, settings.read_timeout) == (2.5, 30.0)
    assert settings.max_reply_bytes == 1024
    assert settings.retry == RetryPolicy(attempts=3, initial_wait=0.1, max_wait=2.0, max_retry_after=60.0)
    assert settings.headers == {"X-Team": "data"}


@pytest.mark.parametrize(
    ("extras", "verify"),
    [
        ({"verify": False}, False),
        ({"verify": "false"}, False),
        ({"verify": "No"}, False),
        ({"verify": "0"}, False),
        ({"verify": ""}, False),
        ({"verify": "off", "ca_bundle": "/ca.pem"}, False),  # verification off: no bundle
        ({"verify": "yes"}, True),
        ({"verify": 1}, True),
        ({"ca_bundle": "/ca.pem"}, "/ca.pem"),
        ({"ca_bundle": ""}, True),
    ],
)
def test_verify_and_ca_bundle(extras: dict[str, object], verify: bool | str) -> None:
    assert HttpSettings.from_connection("https://h", extras=extras).verify == verify


def test_bad_numbers_in_extras_raise_value_error() -> None:
    with pytest.raises(ValueError):
        HttpSettings.from_connection("https://h", extras={"timeout": "soon"})


# -- paths and calls ------------------------------------------------------------------------------------


def test_url_path_encodes_each_segment_whole() -> None:
    assert url_path("v3", "namespaces", "default") == "/v3/namespaces/default"
    assert (
        url_path("apps", "a/b", "c?d", "e#f", "100%", "é ü", 7)
        == "/apps/a%2Fb/c%3Fd/e%23f/100%25/%C3%A9%20%C3%BC/7"
    )
    assert url_path("a..b", "...") == "/a..b/..."


def test_url_path_encodes_whole_dot_segments_and_refuses_empty_ones() -> None:
    assert url_path("runs", "..", "stop") == "/runs/%2E%2E/stop"
    assert url_path("runs", ".", "stop") == "/runs/%2E/stop"
    with pytest.raises(ValueError, match="is not a valid path segment"):
        url_path("v3", "", "x")


def test_api_call_body_and_query() -> None:
    call = ApiCall("list runs", "GET", "/runs", params={"status": None, "limit": 25, "start": 0})
    assert call.query() == {"limit": "25", "start": "0"}
    assert call.body() is None
    assert call.idempotent
    start = ApiCall(
        "start pipeline", "POST", "/start", json=[{"appId": "x", "runtimeargs": {}}], idempotent=False
    )
    assert start.body() == b'[{"appId":"x","runtimeargs":{}}]'
    assert ApiCall("raw", "PUT", "/x", data=b"\x00raw", json={"ignored": True}).body() == b"\x00raw"


# -- Retry-After ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), ("0.25", 0.25), ("0", 0.0), ("-3", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_parse_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    seconds = parse_retry_after(later)
    assert seconds is not None and 115 <= seconds <= 120
    earlier = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(earlier) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# -- the retry policy -----------------------------------------------------------------------------------


def test_from_extras_defaults() -> None:
    assert RetryPolicy.from_extras({}) == RetryPolicy(
        attempts=5, initial_wait=0.5, max_wait=30.0, max_retry_after=300.0
    )


def test_backoff_is_full_jitter_under_a_doubling_ceiling() -> None:
    policy = RetryPolicy(initial_wait=1.0, max_wait=5.0)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)):
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # jitter spans the range, not a fixed wait


def attempts_for(
    errors: list[BaseException], *, idempotent: bool, policy: RetryPolicy | None = None
) -> tuple[int, list[float], BaseException | None]:
    """Run a call that raises ``errors`` in turn (then succeeds) under the policy; count tries and sleeps."""
    policy = policy or RetryPolicy(attempts=4, initial_wait=0.0, max_wait=0.0)
    tries = 0
    sleeps: list[float] = []

    def call() -> str:
        nonlocal tries
        tries += 1
        if tries <= len(errors):
            raise errors[tries - 1]
        return "ok"

    try:
        Retrying(**policy.tenacity_kwargs(idempotent), sleep=sleeps.append)(call)
    except BaseException as exc:
        return tries, sleeps, exc
    return tries, sleeps, None


def err(
    status: int | None, *, retryable: bool = True, sent: bool = True, retry_after: float | None = None
) -> PipelineApiError:
    return PipelineApiError(
        "CDAP", "call", status, "x", retryable=retryable, sent=sent, retry_after=retry_after
    )


Case = Callable[[], PipelineApiError]


@pytest.mark.parametrize(
    ("error", "idempotent", "tries"),
    [
        (lambda: err(503), True, 2),
        (lambda: err(500), True, 2),
        (lambda: err(None), True, 2),  # dropped connection on a read
        (lambda: err(400, retryable=False), True, 1),
        (lambda: err(404, retryable=False), True, 1),
        (lambda: err(503), False, 2),  # "not processed": a start may be repeated
        (lambda: err(429, retry_after=0), False, 2),
        (lambda: err(500), False, 1),  # the server may have started the run
        (lambda: err(502), False, 1),
        (lambda: err(None), False, 1),  # reply lost: the server may have acted
        (lambda: err(None, sent=False), False, 2),  # never reached the server
        (lambda: err(400, retryable=False, sent=False), False, 1),
    ],
)
def test_should_retry_rules(error: Case, idempotent: bool, tries: int) -> None:
    count, _, raised = attempts_for([error()], idempotent=idempotent)
    assert count == tries
    assert (raised is None) == (tries == 2)


def test_other_exceptions_are_never_retried() -> None:
    count, _, raised = attempts_for([KeyError("runId")], idempotent=True)
    assert count == 1
    assert isinstance(raised, KeyError)


def test_attempts_bound_the_tries_and_the_last_error_is_raised() -> None:
    errors = [err(502), err(503), err(504), err(500), err(500)]
    count, sleeps, raised = attempts_for(errors, idempotent=True)
    assert count == 4
    assert len(sleeps) == 3
    assert raised is errors[3]
    assert (
        attempts_for([err(503)], idempotent=True, policy=RetryPolicy(attempts=0))[0] == 1
    )  # at least one try


def test_retry_after_sets_the_wait_and_too_long_gives_up() -> None:
    policy = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0, max_retry_after=10.0)
    count, sleeps, raised = attempts_for(
        [err(429, retry_after=7.5), err(503, retry_after=2)], idempotent=True, policy=policy
    )
    assert (count, sleeps, raised) == (3, [7.5, 2.0], None)

    too_long = err(429, retry_after=11.0)
    count, sleeps, raised = attempts_for([too_long], idempotent=True, policy=policy)
    assert (count, sleeps, raised) == (1, [], too_long)


def test_backoff_waits_between_tries() -> None:
    policy = RetryPolicy(attempts=4, initial_wait=0.5, max_wait=0.75)
    _, sleeps, _ = attempts_for([err(503), err(503), err(503)], idempotent=True, policy=policy)
    assert len(sleeps) == 3
    assert 0 <= sleeps[0] <= 0.5
    assert all(0 <= s <= 0.75 for s in sleeps[1:])


def test_tenacity_takes_over_after_tries_already_made() -> None:
    # The clients make the first try themselves and hand the rest to tenacity: the total stays the same.
    policy = RetryPolicy(attempts=4, initial_wait=1.0, max_wait=100.0)
    tries = 0
    sleeps: list[float] = []

    def call() -> str:
        nonlocal tries
        tries += 1
        raise err(503)

    with pytest.raises(PipelineApiError):
        Retrying(**policy.tenacity_kwargs(True, tried=1), sleep=sleeps.append)(call)
    assert tries == 3  # plus the client's own first try: 4
    # Waits follow the tries' numbers (after try 2 the ceiling is 2 s, after try 3 it is 4 s).
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 2.0 and 0 <= sleeps[1] <= 4.0
