"""The base of every platform hook: connection to client, the run protocol, sync and async alike."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow_provider_pipelines.core.auth import Auth
from airflow_provider_pipelines.core.clients import AsyncApiClient, SyncApiClient
from airflow_provider_pipelines.core.compat import BaseHook
from airflow_provider_pipelines.core.connection_form import ConnectionForm
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError, redact, shorten
from airflow_provider_pipelines.core.plans import Plan, arun_plan, endpoint, returns, run_plan
from airflow_provider_pipelines.core.settings import ClientConfig, HttpSettings
from airflow_provider_pipelines.core.start import Attempt, CannotTell
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap
from airflow_provider_pipelines.core.watch import overridden_state

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_pipelines.platforms import ConnectionType

T = TypeVar("T")
RunRef = dict[str, Any]
"""A run's identity as JSON primitives; ``run_id`` is always there. It travels in XCom and trigger kwargs."""

log = logging.getLogger(__name__)


class PipelineHook(BaseHook):
    """
    Base hook: owns the connection, auth, sessions, retries and error mapping for one platform.

    A platform subclass declares ``platform``, its connection metadata, its ``state_map``, how a
    connection becomes auth (:meth:`auth_from_connection`), and its API calls as plans. The run
    protocol used by the shared operator, sensor and trigger is :meth:`run_status_plan`,
    :meth:`cancel_plan`, :meth:`failure_plan` and :meth:`find_run_plan`.
    """

    platform: ClassVar[str] = ""
    conn_name_attr: ClassVar[str] = "conn_id"
    default_conn_name: ClassVar[str] = ""
    conn_type: ClassVar[str] = ""
    hook_name: ClassVar[str] = ""
    state_map: ClassVar[StateMap]
    default_url: ClassVar[str | None] = None
    can_cancel: ClassVar[bool] = True  # False for a platform whose API cannot stop a run
    can_resume: ClassVar[bool] = False  # True where a failed run can continue from its failed steps
    # Raw states of a run that is being stopped: a stop that meets one has nothing left to do.
    stopping_states: ClassVar[frozenset[str]] = frozenset()
    # Where a person sees whether a start took effect, for the error when a lost start reply is unresolved.
    start_check: ClassVar[str] = "the platform's list of runs"
    # Where the connection's credentials are, for "Test connection" when the platform refuses them.
    credential_fields: ClassVar[str] = "the connection's credentials"
    connection_form: ClassVar[ConnectionForm] = ConnectionForm()

    def __init_subclass__(cls, connection: ConnectionType | None = None, **kwargs: Any) -> None:
        """``class XHook(PipelineHook, connection=X_CONNECTION)`` sets the connection's attributes."""
        super().__init_subclass__(**kwargs)
        if connection is not None:
            cls.conn_type, cls.hook_name = connection.conn_type, connection.hook_name
            cls.connection_form = connection.form
            cls.conn_name_attr, cls.default_conn_name = f"{cls.conn_type}_conn_id", f"{cls.conn_type}_default"
            # Airflow 2 reads a hook's form only from classmethods in the hook class's own __dict__.
            for name in ("get_ui_field_behaviour", "get_connection_form_widgets"):
                setattr(cls, name, classmethod(getattr(PipelineHook, name).__func__))

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Airflow 2's connection form: labels, placeholders and hidden fields."""
        return cls.connection_form.ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Airflow 2's connection form: the platform's extra fields."""
        return cls.connection_form.widgets()

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id or self.default_conn_name
        self._client: SyncApiClient | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- from a connection to a client: the one place ------------------------------------------------

    def settings_from_connection(self, conn: Connection) -> HttpSettings:
        return HttpSettings.from_connection(
            conn.host,
            schema=conn.schema,
            port=conn.port,
            extras=conn.extra_dejson,
            default_url=self.default_url,
        )

    def auth_from_connection(self, conn: Connection) -> Auth:
        """The connection's auth strategy. Override per platform; the default sends no credentials."""
        return Auth()

    def options_from_connection(self, conn: Connection) -> dict[str, Any]:
        """
        What the platform's calls need from the connection besides settings and auth (an org id, a
        key sent as a parameter). Override per platform. It travels with the client (``ClientConfig``),
        and a plan asks the client that runs it for it (``options = yield OPTIONS``), so every hook
        sharing a triggerer's client sends the same options.
        """
        return {}

    def configure(self, conn: Connection, *, testing: bool = False) -> ClientConfig:
        """
        The connection as settings, auth and options. An unusable one raises :class:`PipelineError`
        naming the connection id, except when ``testing``: Airflow's "Test" button tests a form under
        a random temporary id, which means nothing to the person who filled it in.
        """
        try:
            return ClientConfig(
                self.settings_from_connection(conn),
                self.auth_from_connection(conn),
                self.options_from_connection(conn),
            )
        except (ValueError, TypeError, KeyError) as exc:
            named = "" if testing else f" {self.conn_id!r}"
            raise PipelineError(f"{self.platform} connection{named} is not usable: {exc}") from None

    @property
    def client(self) -> SyncApiClient:
        if self._client is None:
            conn = self.get_connection(self.conn_id)
            self._client = SyncApiClient(self.platform, *self.configure(conn))
        return self._client

    async def _aconfigure(self) -> ClientConfig:
        aget = getattr(BaseHook, "aget_connection", None)
        if aget is not None:
            conn = await aget(self.conn_id)
            return await asyncio.to_thread(self.configure, conn)

        def lookup() -> ClientConfig:
            return self.configure(self.get_connection(self.conn_id))

        return await asyncio.to_thread(lookup)

    @asynccontextmanager
    async def async_client(self) -> AsyncIterator[AsyncApiClient]:
        """
        The connection's async client for as long as the block runs (a trigger's whole life): one
        aiohttp session and one auth (one cached token) shared by every block of the same hook class
        and connection on this event loop (:mod:`~airflow_provider_pipelines.core.client_pool`).
        """
        from airflow_provider_pipelines.core.client_pool import shared_client

        async def open_client() -> AsyncApiClient:
            return await AsyncApiClient(self.platform, *await self._aconfigure()).open()

        async with shared_client((type(self), self.conn_id), open_client) as client:
            yield client

    def run(self, plan: Plan[T]) -> T:
        return run_plan(plan, self.client)

    def arun(self, plan: Plan[T], client: AsyncApiClient) -> Coroutine[Any, Any, T]:
        """``await hook.arun(plan, client)``: the plan's result (the driver's coroutine, not a wrapper
        around it: a trigger awaits one per poll)."""
        return arun_plan(plan, client)

    # -- the run protocol: platforms implement these plans -----------------------------------------

    def run_status_plan(self, run: Mapping[str, Any]) -> Plan[RunStatus]:
        raise NotImplementedError

    def cancel_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        raise NotImplementedError

    def failure_plan(self, run: Mapping[str, Any], status: Mapping[str, Any]) -> Plan[list[str]]:
        """Lines that explain a failed run (its log tail, failed tasks). Default: none."""
        return returns([])

    def find_run_plan(self, run_spec: Mapping[str, Any], marker: str) -> Plan[RunRef | None]:
        """The run an earlier try started, found by the marker it was started with. Default: unsupported."""
        return returns(None)

    def resume_failed_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        """Continue a failed run from its failed steps (``retry_from_failure``); set ``can_resume``."""
        raise NotImplementedError
        yield  # pragma: no cover

    # -- the success policy: asked by the operator, the sensor and the trigger alike ----------------

    def success_states(self, run: Mapping[str, Any]) -> list[str] | None:
        """The states that count as success for ``run`` when the task names none; None: the state
        map's own. A platform whose run kinds end differently says so here (CDAP streaming: RUNNING)."""
        return None

    def run_state(
        self,
        status: RunStatus,
        run: Mapping[str, Any],
        success_states: list[str] | None,
        failure_states: list[str] | None,
    ) -> RunState:
        """What ``status`` means for a wait on ``run`` with these success and failure states (the task's,
        else :meth:`success_states`). Default: :meth:`StateMap.classify` when either is given."""
        if success_states is None and failure_states is None:  # every poll: skip a call
            return status.state
        return overridden_state(self.state_map, status, success_states, failure_states)

    def describe_run(self, run: Mapping[str, Any]) -> str:
        """The run for a log line, e.g. ``CDAP run 5e1f… of pipeline daily``."""
        return f"{self.platform} run {run['run_id']}"

    def start_facts_plan(self, run_spec: Mapping[str, Any]) -> Plan[dict[str, Any]]:
        """What to note before a start (JSON primitives) so that its run can be found if the reply is lost:
        the runs already there, a trigger time the start will carry... Default: nothing."""
        return returns({})

    def find_started_run_plan(self, run_spec: Mapping[str, Any], attempt: Attempt) -> Plan[RunRef | None]:
        """
        The run that the start ``attempt`` created, in whatever state: a run ref, None when the platform
        shows no such run, or :class:`~airflow_provider_pipelines.core.start.CannotTell`. Default: the run
        carrying the attempt's marker, for a platform that can carry one (:meth:`find_run_plan`).
        """
        if type(self).find_run_plan is PipelineHook.find_run_plan:
            raise CannotTell(f"{self.platform} cannot tell which run a start created", self.start_check)
        return (yield from self.find_run_plan(run_spec, attempt["marker"]))

    def is_stopped(self, run: Mapping[str, Any], status: RunStatus) -> bool:
        """Whether a stop has nothing left to do: the run is over or is being stopped."""
        return status.terminal or status.raw_state.upper() in self.stopping_states

    def stop_plan(self, run: Mapping[str, Any]) -> Plan[str | None]:
        """
        :meth:`cancel_plan`, where a run that is already stopping or over counts as stopped: a refused
        stop, or one whose reply was lost and whose repeat was refused, is checked against the run's state.
        Returns the state the run was already in, or None when the stop was accepted.
        """
        try:
            yield from self.cancel_plan(run)
        except PipelineApiError as exc:
            if exc.status in (401, 403, 404):  # refused, or no such run: nothing to check against
                raise
            try:
                status = yield from self.run_status_plan(run)
            except PipelineApiError:
                raise exc from None
            if not self.is_stopped(run, status):
                raise exc from None
            return status.raw_state
        return None

    # -- the run protocol, sync and async ----------------------------------------------------------

    def get_run_status(self, run: Mapping[str, Any]) -> RunStatus:
        return self.run(self.run_status_plan(run)).sanitized(self.client.secrets())

    async def aget_run_status(self, run: Mapping[str, Any], client: AsyncApiClient) -> RunStatus:
        return (await self.arun(self.run_status_plan(run), client)).sanitized(client.secrets())

    cancel_run = endpoint(
        stop_plan,
        "Stop the run; the state it was already in when it needed no stop (None: the stop was accepted).",
    )

    async def acancel_run(self, run: Mapping[str, Any], client: AsyncApiClient) -> str | None:
        return await self.arun(self.stop_plan(run), client)

    def explain_failure(self, run: Mapping[str, Any], status: Mapping[str, Any] | None = None) -> list[str]:
        """
        Never raises: a failure explanation that cannot be fetched must not hide the failure. The
        lines (a run's log tail) go into the task's error: each is capped, and secrets are taken out.
        """
        try:
            lines = self.run(self.failure_plan(run, status or {}))
        except PipelineError as exc:  # an API error, or auth that could not get a token
            return [f"(could not fetch failure details: {exc})"]
        secrets = self._client.secrets() if self._client is not None else []
        return [shorten(redact(str(line), secrets)) for line in lines]

    find_run = endpoint(find_run_plan)
    resume_failed_run = endpoint(resume_failed_plan)
    start_facts = endpoint(start_facts_plan)
    find_started_run = endpoint(find_started_run_plan)

    def check_connection(self) -> str | None:
        """
        Raise when the platform cannot be used with this connection: a call that needs valid
        credentials where the platform has one. Returns what was checked, for "Test connection".
        """
        raise NotImplementedError

    def test_connection(self) -> tuple[bool, str]:
        """
        Airflow's "Test connection" (the UI's button, ``airflow connections test``): ``(True, "<platform>
        connection works: <what was checked>")``, or ``(False, <the cause in the user's words>)``: the host
        (unreachable, not the platform's API), the credentials, or the ids the platform refused. Messages
        name the platform, never the connection id (the UI tests a form under a random temporary id) nor
        a secret.
        """
        from urllib.parse import urlsplit

        from airflow_provider_pipelines.core.urls import where

        checked: str | None = None
        try:
            if self._client is None:
                conn = self.get_connection(self.conn_id)
                self._client = SyncApiClient(self.platform, *self.configure(conn, testing=True))
            checked = self.check_connection()
        except PipelineApiError as exc:
            platform, status, reason = self.platform, exc.status, f"{exc.call}: {exc.message}"
            base = self._client.settings.base_url if self._client is not None else ""
            place = where(base) + urlsplit(base).path if base else "the connection's host"
            credentials = self.credential_fields
            if status in (401, 403):
                message = f"{platform} refused the credentials (HTTP {status}, {reason}): check {credentials}"
            elif status in (404, 405):
                message = (
                    f"{place} is not {platform}'s API (HTTP {status}, {reason}): check the connection's "
                    "host, including its base path"
                )
            elif status is not None and 200 <= status < 300 and exc.code is None:
                message = (
                    f"{place} answered, but not as {platform}'s API does ({reason}): check that the "
                    f"connection's host is {platform}'s API"
                )
            else:  # no reply (the transport error names the host and port), or the platform's own error
                message = str(exc)
        except PipelineError as exc:
            message = str(exc)
        except Exception as exc:
            message = f"{self.platform} connection test failed: {type(exc).__name__}: {exc}"
        else:
            return True, f"{self.platform} connection works" + (f": {checked}" if checked else "")
        for quoted in (f" {self.conn_id!r}", f" `{self.conn_id}`", f' "{self.conn_id}"'):
            message = message.replace(quoted, "")
        secrets = self._client.secrets() if self._client is not None else []
        return False, shorten(redact(message, secrets))
