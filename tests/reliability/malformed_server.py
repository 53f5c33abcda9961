"""
A loopback HTTP server whose reply a test sets (status, content type, body bytes, how they are
delivered), and the hypothesis strategies that make those replies malformed. It stands in for a
platform, or for the proxy in front of it, that answers garbage.

Token endpoints (Firebase for Tailer, the EnOS APIM token service) answer valid tokens unless a test
sets a token reply, so the API paths can be fuzzed past authentication. Paths matching a "healthy"
rule answer that rule's reply, so a test can fuzz the second call of an operation (FlowEngine looks
its engine up first) and not only the first.
"""

from __future__ import annotations

import copy
import json
import re
import string
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from hypothesis import strategies as st

from airflow_provider_pipelines.core.apim_auth import TOKEN_PATH as APIM_TOKEN_PATH
from airflow_provider_pipelines.emulators.base import EmulatorServer
from airflow_provider_pipelines.hooks.cdap import CDAP_STATES
from airflow_provider_pipelines.hooks.daggy import DAGGY_STATES
from airflow_provider_pipelines.hooks.enos import ENOS_STATES
from airflow_provider_pipelines.hooks.flowengine import FLOWENGINE_STATES
from airflow_provider_pipelines.hooks.tailer import TAILER_STATES

# -- secrets: the connections hold them, the token endpoints issue them, the garbage echoes them ------

CDAP_TOKEN = "cdap-bearer-secret-91f3"
DAGGY_PROXY_TOKEN = "daggy-proxy-secret-4e2a"
TAILER_REFRESH_TOKEN = "tailer-refresh-secret-c0de"
TAILER_API_KEY = "tailer-api-key-secret-8b8b"
TAILER_ID_TOKEN = "tailer-id-token-secret-5b1c"  # issued by the Firebase stand-in
FLOWENGINE_ACCESS_KEY = "flowengine-access-secret-3a3a"
ENOS_APP_SECRET = "enos-app-secret-6f6f"
ENOS_ACCESS_TOKEN = "enos-access-token-secret-77ad"  # issued by the APIM token stand-in
ISSUED_TOKENS = (TAILER_ID_TOKEN, ENOS_ACCESS_TOKEN)
PLATFORM_SECRETS = {
    "cdap": (CDAP_TOKEN,),
    "daggy": (DAGGY_PROXY_TOKEN,),
    "tailer": (TAILER_REFRESH_TOKEN, TAILER_API_KEY, TAILER_ID_TOKEN),
    "flowengine": (FLOWENGINE_ACCESS_KEY,),
    "enos": (ENOS_APP_SECRET, ENOS_ACCESS_TOKEN),
}
SECRETS = tuple(secret for secrets in PLATFORM_SECRETS.values() for secret in secrets)

# -- replies --------------------------------------------------------------------------------------------

FIREBASE_TOKEN_PATH = "/_token/firebase/v1/token"
RUNAWAY_LIMIT = 200  # past this many API requests in one example the server answers 599: a loop ends
Delivery = Literal["normal", "short", "bad-gzip"]


@dataclass(frozen=True)
class Reply:
    """
    One reply. ``delivery``: ``normal``; ``short`` (a Content-Length larger than the body, then the
    connection closes: a reply cut off in transit); ``bad-gzip`` (``Content-Encoding: gzip`` on a body
    that is not gzip).
    """

    status: int = 200
    content_type: str | None = "application/json"
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delivery: Delivery = "normal"

    def __repr__(self) -> str:  # failing examples are printed: keep huge bodies short
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"...(%d bytes)" % len(self.body)
        return (
            f"Reply(status={self.status}, content_type={self.content_type!r}, body={body!r}, "
            f"headers={dict(self.headers)!r}, delivery={self.delivery!r})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints a dataclass field by field, body and all, unless told this."""
        printer.text(repr(self))


def json_reply(value: object, status: int = 200) -> Reply:
    return Reply(status, "application/json", json.dumps(value).encode())


FIREBASE_TOKEN = json_reply({"id_token": TAILER_ID_TOKEN, "expires_in": "3600", "token_type": "Bearer"})
APIM_TOKEN = json_reply(
    {"status": 0, "msg": "OK", "data": {"accessToken": ENOS_ACCESS_TOKEN, "expire": 7200}}
)

# -- what malformed looks like --------------------------------------------------------------------------

# Well-formed replies of each platform's endpoints, in the order of TEMPLATE_NAMES. Mutated (a field of
# the wrong type, a field gone), they reach the field parsing of every call.
TEMPLATE_NAMES = {
    "cdap": ["start", "run", "runs", "namespace"],
    "daggy": ["validate", "submit", "run", "state", "runs", "ready"],
    "tailer": ["launch", "status", "ok"],
    "flowengine": ["info", "param", "run", "pipeline", "history", "start"],
    "enos": ["pipelines", "trigger", "instance", "action"],
}
TEMPLATES: dict[str, list[Any]] = json.loads("""{
 "cdap": [
  [{"appId": "pipe", "programType": "workflow", "programId": "DataPipelineWorkflow", "runId": "run-1",
    "statusCode": 200}],
  {"runid": "run-1", "status": "RUNNING", "starting": 1, "start": 2, "end": 3,
   "properties": {"runtimeArgs": "{\\"airflow.pipelines.task\\": \\"d/r/t/-1\\"}"}},
  [{"runid": "run-1", "status": "RUNNING",
    "properties": {"runtimeArgs": {"airflow.pipelines.task": "d/r/t/-1"}}}],
  {"name": "default", "description": "Default Namespace"}
 ],
 "daggy": [
  {"valid": true},
  {"runID": 7},
  {"runID": 7, "tag": "t [airflow:d/r/t/-1]", "dagStateChanges": [{"state": "RUNNING", "time": 1}],
   "taskStates": {"a": "ERRORED", "b": "COMPLETED"},
   "taskAttempts": {"a": [{"rc": 1, "errorLog": "boom", "outputLog": "out", "executorLog": "exec"}]}},
  {"state": "RUNNING"},
  [{"runID": 7, "tag": "t [airflow:d/r/t/-1]", "state": "RUNNING", "taskCounts": {"RUNNING": 1}}],
  {"msg": "Ya like DAGs?"}
 ],
 "tailer": [
  {"run_id": "run-1", "code": 200},
  {"results": [{"status": "RUNNING", "run_id": "run-1", "duration": "1", "start_execution_date": "2024",
                "last_update_date": "2024"}]},
  {"code": 200, "message": "ok"}
 ],
 "flowengine": [
  {"status": 0, "msg": "ok", "data": {"url": "/engine-7"}},
  {"status": 0, "msg": "ok", "data": {"engineId": 7}},
  {"status": 0, "msg": "ok", "data": {"id": 42, "status": "running",
                                      "nodes": [{"nodeId": "n1", "status": "failed", "msg": "boom"}]}},
  {"status": 0, "msg": "ok", "data": {"id": 3, "data": {"nodes": [{"nodeId": "n1", "name": "reader"}]}}},
  {"status": 0, "msg": "ok", "data": {"list": [{"id": 43, "params": {}}], "total": 1}},
  {"status": 0, "msg": "ok", "data": {"id": 43}}
 ],
 "enos": [
  {"code": 0, "msg": "OK", "data": {"count": 1, "pipelines": [{"pipelineId": "p1", "pipelineName": "n",
                                                              "status": "RUNNING"}]}},
  {"code": 0, "msg": "OK", "data": {"flowInstanceId": "inst-1"}},
  {"code": 0, "msg": "OK", "data": {"status": 2, "statusDesc": "running",
   "graph": {"tasks": [{"taskId": "t1", "name": "t", "status": -1, "log": "x"}]}}},
  {"code": 0, "msg": "OK", "data": null}
 ]
}""")
# Values a field may wrongly hold (Python's json reads NaN and Infinity, so a server may send them).
WRONG_TYPES: list[Any] = json.loads("""[
 null, true, false, 0, 1, -1, 10, 1.5, 1e300, NaN, Infinity, 1000000000000000000000000000000,
 "", " ", "x", "\\u00b2", "\\u0661\\u0662", "NaN", [], {}, [1], [[]], {"a": 1}, ["RUNNING"],
 [{"status": "ZOMBIE"}], {"": null}
]""")
MISSING_FIELDS: list[Any] = json.loads("""[
 {}, [], [{}], {"results": []}, {"results": [{}]}, {"status": 0}, {"code": 0}, {"status": 0, "data": {}},
 {"code": 0, "data": {}}, {"code": 0, "data": {"pipelines": [{}], "count": 1}}, {"dagStateChanges": []},
 {"status": 0, "data": {"url": "engine"}}, {"data": null}
]""")
KNOWN_STATES = {
    s for m in (CDAP_STATES, DAGGY_STATES, TAILER_STATES, FLOWENGINE_STATES, ENOS_STATES) for s in m.states
}
STATE_WORDS = sorted(KNOWN_STATES | {"PUBLISHED", "PAUSED", "STOPPED", "ZOMBIE", "DONE?", "running ", ""})
IDS = ["run-1", "7", "p1", "42", "1", "0", "-1"]


def paths_in(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) inside a JSON value."""
    found: list[tuple[Any, Any]] = []
    pending = [value]
    while pending:
        item = pending.pop()
        keys = list(item) if isinstance(item, dict) else range(len(item)) if isinstance(item, list) else []
        for key in keys:
            found.append((item, key))
            pending.append(item[key])
    return found


# The field names the platforms use, so that random objects hit them.
KEYS = sorted({key for t in TEMPLATES.values() for c, key in paths_in(t) if isinstance(c, dict)})

texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(STATE_WORDS),
    st.sampled_from(SECRETS),
    st.sampled_from(IDS),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=8), st.sampled_from(SECRETS), st.text(max_size=8)),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2, 10, -1, 200, 404, 500, 61121]),
    st.floats(),  # NaN and Infinity included
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=16,
)
objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)


def envelopes(platform: str, inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Garbage inside the platform's own reply envelope, so that the hook's field parsing is reached."""
    if platform == "cdap":
        return st.one_of(inner, st.lists(inner, min_size=1, max_size=3))
    if platform == "daggy":
        changes = st.fixed_dictionaries({"dagStateChanges": st.lists(inner, max_size=3)})
        return st.one_of(inner, changes)
    if platform == "tailer":
        results = st.fixed_dictionaries(
            {"results": st.one_of(inner, st.lists(inner, min_size=1, max_size=3))}
        )
        return st.one_of(inner, results, st.fixed_dictionaries({"code": json_values, "message": json_values}))
    status = "status" if platform == "flowengine" else "code"
    return st.fixed_dictionaries(
        {status: st.one_of(st.just(0), st.just("0"), json_values), "data": inner},
        optional={"msg": json_values},
    )


def unknown_states(platform: str) -> st.SearchStrategy[Any]:
    """A platform's run record, well formed but for a state the provider does not know."""
    known = {s.upper() for s in STATE_WORDS}
    state = st.text(min_size=1, max_size=20).filter(lambda s: s.upper() not in known and not s.isdigit())
    records = {
        "cdap": lambda s: {"status": s, "runid": "run-1"},
        "daggy": lambda s: {"dagStateChanges": [{"state": s}], "state": s, "taskStates": {"a": s}},
        "tailer": lambda s: {"results": [{"status": s, "run_id": "run-1"}]},
        "flowengine": lambda s: {"status": 0, "data": {"status": s, "nodes": [{"status": s}]}},
        "enos": lambda s: {
            "code": 0,
            "data": {"status": s, "count": 1, "pipelines": [{"pipelineId": "p1", "status": s}]},
        },
    }
    return st.builds(records[platform], state)


Shapes = Sequence[int]
"""Which of a platform's templates a call reads (indexes into ``TEMPLATES[platform]``); empty: any."""


def shapes_of(platform: str, names: str) -> tuple[int, ...]:
    """``shapes_of("cdap", "run runs")``: the indexes of those templates."""
    return tuple(TEMPLATE_NAMES[platform].index(name) for name in names.split())


@st.composite
def mutated(draw: st.DrawFn, platform: str, shapes: Shapes = ()) -> Any:
    """A platform's well-formed reply with one to three fields replaced by a wrong type, or removed."""
    # Where to strike is chosen uniformly (hypothesis would favour the first field, the first template).
    rng = draw(st.randoms(use_true_random=True))
    templates = [TEMPLATES[platform][i] for i in shapes] or TEMPLATES[platform]
    value = copy.deepcopy(rng.choice(templates))
    for _ in range(rng.randint(1, 3)):
        paths = paths_in(value)
        if not paths:
            break
        container, key = rng.choice(paths)
        if isinstance(container, dict) and rng.random() < 0.25:
            del container[key]
        else:
            # A copy: the shared sample values must not be mutated (or nested into themselves) later.
            wrong = rng.choice(WRONG_TYPES) if rng.random() < 0.6 else draw(json_values)
            container[key] = copy.deepcopy(wrong)
    return value


def as_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def body_kinds(platform: str, shapes: Shapes = ()) -> dict[str, tuple[int, st.SearchStrategy[bytes]]]:
    """Kinds of body, each with its weight: mostly a platform's replies with fields wrong, else JSON of
    any shape, HTML, JSON cut short or nested deeper than a parser goes, bytes that are not UTF-8."""
    shaped = st.one_of(envelopes(platform, st.one_of(json_values, objects)), mutated(platform, shapes))
    any_json = st.one_of(json_values, shaped, unknown_states(platform), st.sampled_from(MISSING_FIELDS))
    html = st.builds(
        "<!DOCTYPE html><html><head><title>{0}</title></head><body><h1>{0}</h1>{1}</body></html>".format,
        st.sampled_from(["502 Bad Gateway", "Sign in", "Service Unavailable", "Maintenance"]),
        texts,
    )
    truncated = st.builds(
        lambda text, cut: text[: max(1, int(len(text) * cut))],
        st.one_of(shaped, unknown_states(platform)).map(json.dumps).filter(lambda t: len(t) > 2),
        st.floats(min_value=0.05, max_value=0.95),
    )
    nested = st.builds(
        lambda opener, depth: opener * depth,
        st.sampled_from(["[", '{"data":', '{"results":[']),
        st.integers(1_000, 120_000),
    )
    not_utf8 = st.one_of(
        st.binary(max_size=200),
        st.binary(min_size=1, max_size=20).map(
            lambda b: b'{"status": "' + b + b'", "data": {"status": "\xff"}}'
        ),
        st.just(b"\xff\xfe{\x00}\x00"),
    )
    odd = st.sampled_from([b"", b" ", b"null", b"true", b"0", b'"OK"', b'"KO"', b"OK", b"KO", b"NaN"])
    return {
        "mutated": (50, mutated(platform, shapes).map(as_bytes)),
        "unknown state": (8, unknown_states(platform).map(as_bytes)),
        "any JSON": (14, any_json.map(as_bytes)),
        "html": (6, html.map(str.encode)),
        "truncated": (8, truncated.map(str.encode)),
        "nested": (3, nested.map(str.encode)),
        "not UTF-8": (5, not_utf8),
        "odd": (6, odd),
    }


STATUSES = [201, 202, 204, 206, 299, 301, 302, 304, 307, 400, 401, 403, 404, 405, 409, 410, 413, 418, 422]
STATUSES += [429, 500, 501, 502, 503, 504, 599]
RETRY_AFTER = ["0", "-1", "nan", "inf", "1e309", "0.001", "Wed, 21 Oct 2015 07:28:00 GMT"]
RETRY_AFTER += ["Mon, 01 Jan 2024 00:00:00 -0000", "Fri, 31 Dec 9999 23:59:59 GMT"]
CONTENT_TYPES: list[str | None] = [None, "application/json", "application/json; charset=utf-8", "text/plain"]
CONTENT_TYPES += ["text/html; charset=utf-8", "application/octet-stream", "application/json; charset=utf-16"]
header_text = st.text(alphabet=string.ascii_letters + string.digits + " ,:-.+", max_size=30)


@st.composite
def replies(draw: st.DrawFn, platform: str, shapes: Shapes = ()) -> Reply:
    """
    A malformed reply: a body of some kind (:func:`body_kinds`) with, mostly, a 200 that lets the hook
    read it; else any status (redirects, 4xx, 5xx, odd ones), odd headers, a reply cut off in transit
    or with a lying Content-Encoding. The mix is drawn with fixed weights (a seeded random), since
    hypothesis alone would favour the first choices.
    """
    rng = draw(st.randoms(use_true_random=True))
    kinds = body_kinds(platform, shapes)
    kind = rng.choices(list(kinds), weights=[weight for weight, _ in kinds.values()])[0]
    body = draw(kinds[kind][1], label=kind)
    status = 200 if rng.random() < 0.6 else rng.choice(STATUSES)
    headers = (
        {"Retry-After": draw(st.one_of(header_text, st.sampled_from(RETRY_AFTER)))}
        if rng.random() < 0.3
        else {}
    )
    if 300 <= status < 400 and rng.random() < 0.5:
        headers["Location"] = rng.choice(["/login", "http://elsewhere.invalid/x", "", "%zz"])
    delivery: Delivery = "normal" if rng.random() < 0.9 else rng.choice(["short", "bad-gzip"])
    return Reply(status, rng.choice(CONTENT_TYPES), body, headers, delivery)


@st.composite
def huge_replies(draw: st.DrawFn, platform: str) -> Reply:
    """1 to 5 MB: an HTML page, a JSON message, a JSON list, a state string, or JSON that ends cut off."""
    size = draw(st.integers(1_000_000, 5_000_000))
    unit = draw(st.sampled_from(["<p>Bad gateway</p> ", "x", "\u00e9\u4e2d ", f" {ENOS_APP_SECRET} "]))
    filler = (unit * (size // len(unit) + 1))[:size]
    kind = draw(st.sampled_from(["html", "message", "list", "state", "cut"]))
    if kind == "html":
        body = f"<html><body>{filler}</body></html>"
    elif kind == "message":
        envelope: dict[str, Any] = {
            "daggy": {"valid": False},
            "tailer": {"code": 500},
            "enos": {"code": 61100},
        }
        envelope["flowengine"] = {"status": 1}
        body = json.dumps({**envelope.get(platform, {}), "msg": filler, "message": filler, "error": filler})
    elif kind == "list":
        body = json.dumps([filler[i : i + 1000] for i in range(0, len(filler), 1000)])
    elif kind == "state":
        body = json.dumps(
            {"status": filler, "code": 0, "data": {"status": filler}, "results": [{"status": filler}]}
        )
    else:
        body = '{"status": "' + filler
    return Reply(draw(st.sampled_from([200, 200, 400, 500, 503])), "application/json", body.encode())


# -- the server -----------------------------------------------------------------------------------------


class MalformedServer:
    """The server, on a loopback port in a background thread; :meth:`configure` it before each call."""

    def __init__(self) -> None:
        self.reply = Reply()
        self.token_reply: Reply | None = None
        self.healthy: list[tuple[re.Pattern[str], Reply]] = []
        self._lock = threading.Lock()
        self.api_requests = 0
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = EmulatorServer(app)
        self.url = ""

    def start(self) -> str:
        self.url = self._server.start()
        return self.url

    def stop(self) -> None:
        self._server.stop()

    def configure(
        self, reply: Reply, *, healthy: Sequence[tuple[str, Reply]] = (), token_reply: Reply | None = None
    ) -> None:
        """The reply of every API path from now on, paths answered well, the token endpoints' reply."""
        with self._lock:
            self.reply = reply
            self.healthy = [(re.compile(pattern), good) for pattern, good in healthy]
            self.token_reply = token_reply
            self.api_requests = 0

    def _choose(self, path: str) -> Reply:
        with self._lock:
            if path in (FIREBASE_TOKEN_PATH, APIM_TOKEN_PATH):
                if self.token_reply is not None:
                    return self.token_reply
                return FIREBASE_TOKEN if path == FIREBASE_TOKEN_PATH else APIM_TOKEN
            self.api_requests += 1
            if self.api_requests > RUNAWAY_LIMIT:
                return Reply(599, "text/plain", b"runaway: too many requests in one example")
            for pattern, good in self.healthy:
                if pattern.search(path):
                    return good
            return self.reply

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        reply = self._choose(request.path)
        headers = dict(reply.headers)
        if reply.content_type is not None:
            headers["Content-Type"] = reply.content_type
        if reply.delivery == "bad-gzip":
            headers["Content-Encoding"] = "gzip"
        if reply.delivery != "short":
            return web.Response(status=reply.status, body=reply.body, headers=headers)
        # Promise more than is sent, then drop the connection.
        response = web.StreamResponse(status=reply.status, headers=headers)
        response.content_length = len(reply.body) + 1000
        await response.prepare(request)
        if reply.body:
            await response.write(reply.body)
        if request.transport is not None:
            request.transport.close()
        return response
