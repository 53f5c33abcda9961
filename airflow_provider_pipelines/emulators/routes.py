"""Routes of an emulator: which are the control API's, which name each API route carries, which mutate."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

CONTROL_PREFIX = "/_emulator/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Whether a request of a route changes the platform's state: ``(request, body as JSON or None) -> bool``.
MutationCheck = Callable[[web.Request, Any], bool]
Mutation = bool | MutationCheck


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
