"""
Reading replies: the clients' JSON decoder and an error reply's message; the shapes plans read (ids,
integers, objects, lists, envelopes) and the error for a reply that does not have the shape expected.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from airflow_provider_pipelines.core.errors import PipelineApiError, redact, summarize

# -- what the clients read -------------------------------------------------------------------------


@functools.cache
def fast_json_decoder() -> Callable[[bytes], Any] | None:
    """
    msgspec's JSON decoder when it is installed (Airflow 3 installs it): about 4 times faster than
    ``json`` on a status reply, and triggers parse one on every poll. What it refuses (NaN, numbers
    out of range, lone surrogates, bad JSON) goes to ``json``, so replies decode the same either way.
    """
    try:
        from msgspec.json import decode
    except ImportError:
        return None
    return decode


def server_message(content: bytes, secrets: Iterable[str] = ()) -> str:
    """
    The useful part of an error reply: a JSON message field if there is one, else the text.
    Secrets are replaced before anything is cut or folded, so no part of one survives.
    """
    text = redact(content.decode("utf-8", errors="replace"), secrets)
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        return summarize(text) or "(empty reply)"
    if isinstance(parsed, dict):
        for key in ("message", "msg", "error", "error_description", "detail", "errorMessage"):
            value = parsed.get(key)
            if isinstance(value, dict) and isinstance(value.get("message"), str) and value["message"]:
                value = value["message"]  # Google's shape: {"error": {"code", "message", "status"}}
            if value:
                return summarize(value if isinstance(value, str) else json.dumps(value))
    return summarize(text)


# -- what plans read -------------------------------------------------------------------------------


def unexpected_reply(platform: str, call: str, reply: Any, what: str = "reply") -> PipelineApiError:
    """The error for a reply (or its ``data``) that does not have the shape a plan reads; quotes its start."""
    return PipelineApiError(platform, call, 200, f"unexpected {what}: {str(reply)[:200]!r}")


def reply_mapping(platform: str, call: str, reply: Any) -> dict[str, Any]:
    """A reply that must be a JSON object, as a dict."""
    if not isinstance(reply, Mapping):
        raise unexpected_reply(platform, call, reply)
    return dict(reply)


def reply_records(platform: str, call: str, reply: Any) -> list[dict[str, Any]]:
    """A reply that must be a JSON list: its objects, as dicts (anything else in it is skipped)."""
    if not isinstance(reply, list):
        raise unexpected_reply(platform, call, reply)
    return [dict(item) for item in reply_objects(reply)]


def reply_objects(value: Any) -> list[Mapping[str, Any]]:
    """The objects in a reply's list (tasks, nodes, pipelines); none when it is not a list."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def reply_envelope(platform: str, call: str, reply: Any, status_key: str) -> tuple[str, Mapping[str, Any]]:
    """
    A reply in an envelope (``{"code": 0, "msg": ..., "data": ...}``): the status it states under
    ``status_key``, as text, and the envelope. A reply that is not an object with that key is unexpected.
    """
    if not isinstance(reply, Mapping) or status_key not in reply:
        raise unexpected_reply(platform, call, reply)
    return str(reply.get(status_key)), reply


def reply_id(value: Any) -> str | None:
    """
    An id read from a reply (a started run's, a found run's): a non-blank string or an integer, as a
    string. Anything else (a list, an object, a boolean, a float, null) is no id, never a run to follow.
    """
    if isinstance(value, str):
        return value if value.strip() else None
    return None if (number := reply_int(value)) is None else str(number)


def reply_int(value: Any) -> int | None:
    """An integer read from a reply: an int, or a string of digits (``"-1"``); not a boolean, a float..."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        return int(value)
    return None


def reply_http_status(value: Any) -> int:
    """An HTTP status a reply states in its body (a per-item ``statusCode``...); 200 when it states none."""
    code = reply_int(value)
    return code if code is not None and 100 <= code <= 599 else 200
