"""Routes of an emulator: which are the control API's, which name each API route carries, which mutate."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from aiohttp import web
from aiohttp.typedefs import Middleware

CONTROL_PREFIX = "/_emulator/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Whether a request of a route changes the platform's state: ``(request, body as JSON or None) -> bool``.
MutationCheck = Callable[[web.Request, Any], bool]
Mutation = bool | MutationCheck
ErrorT = TypeVar("ErrorT", bound=Exception)


def is_control_path(path: str) -> bool:
    """True for the emulator's own control API, which is never faulted, counted or auth-checked."""
    return path.startswith(CONTROL_PREFIX)


def is_control_request(request: web.Request) -> bool:
    """True for a control API request: under ``/_emulator/`` and not an API route.

    A route registered with :meth:`EmulatorCore.add_route` is an API route (counted and faulted) even
    under ``/_emulator/``: that is where stand-ins of third-party services (a token endpoint) live.
    """
    if not is_control_path(request.path):
        return False
    names = request.app.get(ROUTE_NAMES)
    return not names or request.match_info.route not in names


ROUTE_NAMES = web.AppKey("emulator_route_names", dict)
ROUTE_MUTATIONS = web.AppKey("emulator_route_mutations", dict)


def route_name_of(request: web.Request) -> str:
    """The name the request's route was registered with (``unknown`` when none matched)."""
    names = request.app.get(ROUTE_NAMES)
    return "unknown" if names is None else str(names.get(request.match_info.route, "unknown"))


async def request_is_mutation(request: web.Request) -> bool:
    """Whether the request changes the platform's state, as its route declared (``add_route``).

    A route declared with a check reads the body (kept for the handler) and passes it, parsed as JSON
    (``None`` when empty or not JSON), to the check.
    """
    mutations = request.app.get(ROUTE_MUTATIONS)
    mutation = None if mutations is None else mutations.get(request.match_info.route)
    if mutation is None or isinstance(mutation, bool):
        return bool(mutation)
    body: Any = None
    if request.can_read_body:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = None
    return bool(mutation(request, body))


class Route(NamedTuple):
    """An API route: ``handler`` serves ``method`` ``path`` under each of ``prefixes`` (``None``: the
    emulator's), counted as ``"METHOD name"``; ``mutation`` as in :meth:`EmulatorCore.add_route`."""

    method: str
    path: str
    handler: Handler
    name: str
    mutation: Mutation = False
    prefixes: Sequence[str] | None = None


def json_object(
    raw: bytes,
    error: Callable[[str], Exception],
    not_json: str = "the body is not valid JSON",
    not_object: str = "the body must be a JSON object",
) -> dict[str, Any]:
    """A request body that must be a JSON object; else ``error(not_json)`` or ``error(not_object)`` raised."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise error(not_json) from None
    if not isinstance(body, dict):
        raise error(not_object)
    return body


class ApiError(Exception):
    """What a handler raises for one of its platform's error replies: a status (HTTP or the platform's
    own code) and a message; each platform subclasses it and says how it is answered."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def api_handler(
    handler: Callable[[web.Request], Awaitable[Any]],
    error: type[ErrorT],
    answer: Callable[[ErrorT], web.StreamResponse],
    reply: Callable[[Any], web.StreamResponse] = web.json_response,
) -> Handler:
    """A handler answering what ``handler`` returns, ``reply(data)`` (a response as it is), or the
    ``error`` it raises, ``answer(exc)``."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            data = await handler(request)
        except error as exc:
            return answer(exc)
        return data if isinstance(data, web.StreamResponse) else reply(data)

    return wrapped


def json_view(read: Callable[[], Any]) -> Handler:
    """A control route's handler answering ``read()`` as JSON."""

    async def view(request: web.Request) -> web.StreamResponse:
        return web.json_response(read())

    return view


def route_errors(
    answer: Callable[[int, str], web.StreamResponse],
    not_allowed: str = "method not allowed: {method} {path} (use {allowed})",
    not_found: str = "not found: {path}",
) -> Middleware:
    """A middleware answering an unknown route (404) or a wrong method (405) in the API's own error
    shape, ``answer(status, message)``, rather than aiohttp's plain text; control routes excepted."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPMethodNotAllowed as exc:
            if is_control_path(request.path):
                raise
            allowed = ", ".join(sorted(exc.allowed_methods))
            return answer(405, not_allowed.format(method=request.method, path=request.path, allowed=allowed))
        except web.HTTPNotFound:
            if is_control_path(request.path):
                raise
            return answer(404, not_found.format(path=request.path))

    return middleware


# -- link targets: the pages a task's extra link opens ----------------------------------------------


def html_page(title: str, *lines: str) -> web.Response:
    """A minimal HTML page (status 200): what an emulator serves where a task's extra link points, so
    that a browser, or a test, following the link finds a page."""
    from html import escape

    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    text = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=text, content_type="text/html")


def link_page_route(path: str, name: str, page: Callable[[web.Request], tuple[str, Sequence[str]]]) -> Route:
    """A route serving, at ``path`` (the emulator's root only, where a UI is), the page of a link target:
    ``page(request)`` gives its title and lines. Counted as ``GET name``, never a mutation."""

    async def handler(request: web.Request) -> web.StreamResponse:
        title, lines = page(request)
        return html_page(title, *lines)

    return Route("GET", path, handler, name, False, ("",))
