"""
Plans: a platform operation written once, for the worker's sync client and the triggerer's async one.

A call is an :class:`ApiCall`; an operation is a :data:`Plan`, a generator that yields calls,
receives each reply (or has the call's :class:`PipelineApiError` thrown into it) and returns a
result. :func:`run_plan` and :func:`arun_plan` drive it; :func:`endpoint` makes a hook's sync
method from its plan.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Final,
    Literal,
    NoReturn,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
)

from airflow_provider_pipelines.core.errors import PipelineApiError, summarize
from airflow_provider_pipelines.core.urls import process_cache

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.client_base import ClientBase
    from airflow_provider_pipelines.core.clients import AsyncApiClient, SyncApiClient

T = TypeVar("T")
P = ParamSpec("P")
Expect = Literal["json", "text", "none"]


@dataclass(frozen=True)
class ApiCall:
    """
    One request, described without doing it.

    :param name: what the call does, for messages (``start pipeline``).
    :param method: HTTP method.
    :param path: path below the base URL, already encoded (see :func:`~.urls.url_path`).
    :param params: query parameters.
    :param json: a JSON body; or ``data`` for raw bytes.
    :param expect: how to read the reply: ``json``, ``text`` or ``none``.
    :param idempotent: False for calls that must not be repeated blindly (starts): they are retried
        only when the server surely did not act on them.
    """

    name: str
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: bytes | None = None
    headers: Mapping[str, str] | None = None
    expect: Expect = "json"
    idempotent: bool = True

    def body(self) -> bytes | None:
        if self.data is not None:
            return self.data
        if self.json is not None:
            return json.dumps(self.json, separators=(",", ":")).encode()
        return None

    def query(self) -> dict[str, str]:
        return {k: str(v) for k, v in (self.params or {}).items() if v is not None}


class Ask(Enum):
    """What a plan may yield besides a call: a question the driver answers from the client running it."""

    OPTIONS = "options"


OPTIONS: Final = Ask.OPTIONS
"""``options = yield OPTIONS``: the platform's options (``ClientConfig.options``) of the client running the
plan: what the connection says besides settings and auth (EnOS's org id, FlowEngine's engine key)."""

Plan = Generator[ApiCall | Ask, Any, T]
"""A platform operation as a generator: it yields calls, receives replies (or errors) and returns a result."""


def returns(value: T) -> Plan[T]:
    """A plan that makes no call and returns ``value`` (a default plan, an answer known in advance)."""
    return value
    yield  # pragma: no cover  (a generator, so that it is a plan)


@process_cache
def get_call(name: str, path: str) -> ApiCall:
    """``ApiCall(name, "GET", path)``, made once per path: a trigger reads the same run on every poll
    (an ApiCall is immutable, so one instance serves every plan that reads it)."""
    return ApiCall(name, "GET", path)


# What a plan raises when a reply does not have the shape it reads (a list where an object was due...).
SHAPE_ERRORS = (LookupError, TypeError, AttributeError, ValueError, ArithmeticError, RecursionError)
PLAN_ERRORS = (PipelineApiError, *SHAPE_ERRORS)  # what the drivers turn into the provider's error


def run_plan(plan: Plan[T], client: SyncApiClient) -> T:
    """
    Drive a plan with the sync client: send each call it yields and give it the reply, or throw the
    call's :class:`PipelineApiError` into it (a plan may catch it: a 404 can mean "no such run"); answer
    ``yield OPTIONS`` with the client's options; return what the plan returns.
    """
    step: ApiCall | Ask | None = None
    reply: Any = None
    error: PipelineApiError | None = None
    while True:
        try:
            step = plan.send(reply) if error is None else plan.throw(error)
            while step is OPTIONS:
                step = plan.send(client.options)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except PLAN_ERRORS as exc:
            _leave(exc, client, step, error)
        try:
            reply, error = client.send(step), None
        except PipelineApiError as exc:
            reply, error = None, exc


async def arun_plan(plan: Plan[T], client: AsyncApiClient) -> T:
    """Drive the same plan with the async client."""
    step: ApiCall | Ask | None = None
    reply: Any = None
    error: PipelineApiError | None = None
    while True:
        try:
            step = plan.send(reply) if error is None else plan.throw(error)
            while step is OPTIONS:
                step = plan.send(client.options)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except PLAN_ERRORS as exc:
            _leave(exc, client, step, error)
        try:
            reply, error = await client.send(step), None
        except PipelineApiError as exc:
            reply, error = None, exc


def _leave(
    exc: BaseException, client: ClientBase, step: ApiCall | Ask | None, thrown: PipelineApiError | None
) -> NoReturn:
    """
    Raise what leaves a plan that raised ``exc`` after it was given the reply to ``step`` (or had
    ``thrown`` thrown into it): the provider's error. Its own errors come out redacted and capped
    (:meth:`ClientBase.tidy`); as a last guard, a plan that fails on a reply's shape (the platform's
    parsing should have caught it) becomes a :class:`PipelineApiError` naming the platform and the
    call. Anything else leaves as it is.
    """
    if isinstance(exc, PipelineApiError):
        tidy = client.tidy(exc)
        if tidy is exc:
            raise
        raise tidy.with_traceback(exc.__traceback__) from None
    if not isinstance(step, ApiCall) or thrown is not None:
        raise  # not about a reply: an argument or a bug, shown as it is
    detail = summarize(f"{type(exc).__name__}: {exc}", 200)
    raise client.error(step, 200, f"could not read the reply ({detail})") from exc


# -- endpoints: a hook's sync methods, made from its plans ---------------------------------------------


class Runs(Protocol):
    """What runs a plan: a hook (``PipelineHook.run``)."""

    def run(self, plan: Plan[T]) -> T: ...


H = TypeVar("H", bound=Runs)


def endpoint(
    plan: Callable[Concatenate[H, P], Plan[T]], doc: str | None = None
) -> Callable[Concatenate[H, P], T]:
    """
    A hook's sync method from its plan, in the class body: ``get_run = endpoint(get_run_plan)``.
    The method takes the plan's arguments and returns ``self.run(self.get_run_plan(...))``; the plan
    is looked up by name, so a subclass that overrides it is run. Its docstring is ``doc``, else the
    plan's. It is a plain function set on the class when the class is made: calling it costs what
    the hand-written method did.
    """
    return cast("Callable[Concatenate[H, P], T]", _Endpoint(plan, doc))


class _Endpoint:
    def __init__(self, plan: Callable[..., Any], doc: str | None) -> None:
        self.plan, self.doc = plan, doc

    def __set_name__(self, owner: type, name: str) -> None:
        plan_name = self.plan.__name__

        def method(self: Runs, /, *args: Any, **kwargs: Any) -> Any:
            return self.run(getattr(self, plan_name)(*args, **kwargs))

        # The plan's signature and annotations, returning what the plan returns (hooks postpone
        # annotations: the return annotation is the string "Plan[...]").
        signature = inspect.signature(self.plan)
        annotations = dict(self.plan.__annotations__)
        returned = re.fullmatch(r"Plan\[(.*)\]", str(annotations.get("return")))
        if returned:
            signature = signature.replace(return_annotation=returned.group(1))
            annotations["return"] = returned.group(1)
        method.__name__, method.__qualname__ = name, f"{owner.__qualname__}.{name}"
        method.__module__, method.__doc__ = owner.__module__, self.doc or self.plan.__doc__
        method.__annotations__ = annotations
        method.__signature__ = signature  # type: ignore[attr-defined]
        method.__wrapped__ = self.plan  # type: ignore[attr-defined]
        setattr(owner, name, method)
