"""Tailer (Fashion Data): the job and run actions of the Tailer API, declared."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.connection_types import TAILER_CONNECTION
from airflow_provider_pipelines.core.auth import Auth
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError, shorten
from airflow_provider_pipelines.core.firebase_auth import (
    FIREBASE_TOKEN_URL,
    ExpiringJwtAuth,
    FirebaseRefreshTokenAuth,
)
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.plans import ApiCall, Expect, Plan, endpoint, returns
from airflow_provider_pipelines.core.replies import reply_http_status, reply_id, unexpected_reply
from airflow_provider_pipelines.core.start import Attempt, CannotTell
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap
from airflow_provider_pipelines.core.task import PipelineTask

if TYPE_CHECKING:
    from airflow.sdk import Connection

TAILER_API_URL = "https://tailer-api-nqonovswsq-ew.a.run.app"
NO_RUN_YET = "NO_RUN_YET"
# NO_MATCH (a file matched no template) and CHECKED (a failed run marked as fixed) end a run without
# success; both can be made successes with ``success_states``.
TAILER_STATES = StateMap(
    {
        NO_RUN_YET: RunState.PENDING,
        "RUNNING": RunState.RUNNING,
        "SUCCESS": RunState.SUCCESS,
        "FAILED": RunState.FAILED,
        "NO_MATCH": RunState.FAILED,
        "CHECKED": RunState.FAILED,
    }
)
RECENT_RUNS = 20  # runs read to find the one a launch whose reply was lost created
CLOCK_SKEW = 600.0  # seconds a launch time read from a run id may precede this machine's clock
# The job id Tailer gives a configuration's job, by configuration type (table-to-storage: inferred).
JOB_ID_PREFIXES = {"table-to-table": "gbq-to-gbq", "table-to-storage": "gbq-to-gcs"}


# The configuration types whose ids the API knows with the environment suffix (``<id>_<ENVIRONMENT>``).
# Documented for table-to-table; that the other types (table-to-storage, storage-to-storage, workflow...)
# are known by their id as given is inferred: the documents show the suffix for table-to-table only.
SUFFIXED_CONFIGURATION_TYPES = frozenset({"table-to-table"})


# The fields that name a configuration: in every action, and templated in every Tailer task.
JOB_FIELDS = ("account", "environment", "configuration_type", "configuration_id")


def identity(
    account: str, environment: str, configuration_type: str, configuration_id: str
) -> dict[str, str]:
    """What names a Tailer job: the four fields every action carries, as given (see :func:`job_identity`)."""
    values = (account, environment, configuration_type, configuration_id)
    return {name: str(value) for name, value in zip(JOB_FIELDS, values, strict=True)}


def api_configuration_id(configuration_type: str, configuration_id: str, environment: str) -> str:
    """
    The configuration id the Tailer API knows, for a configuration type, id and environment.

    A table-to-table configuration is known as ``<id>_<ENVIRONMENT>`` (``000099_sales`` in DEV is
    ``000099_sales_DEV``): the suffix is added unless the id already ends with it. Every other type
    keeps its id as given (inferred: the documents show the suffix for table-to-table only).
    """
    configuration_id, environment = str(configuration_id), str(environment)
    suffix = f"_{environment}"
    if (
        str(configuration_type) in SUFFIXED_CONFIGURATION_TYPES
        and environment
        and not configuration_id.endswith(suffix)
    ):
        return configuration_id + suffix
    return configuration_id


# The earlier name of the same rule.
with_environment_suffix = api_configuration_id


def job_identity(
    account: str, environment: str, configuration_type: str, configuration_id: str
) -> dict[str, str]:
    """
    A job's identity as the API knows it: :func:`identity` with the configuration id that
    :func:`api_configuration_id` decides. Every Tailer operator and sensor names its job with this,
    so tasks given the same ``configuration_id`` address the same configuration.
    """
    return identity(
        account,
        environment,
        configuration_type,
        api_configuration_id(configuration_type, configuration_id, environment),
    )


def launched_at(run: Mapping[str, Any]) -> float:
    """When a run was launched (epoch s), from its id (``20201230-113940-…``, UTC, inferred); 0 if unknown."""
    try:
        stamp = datetime.strptime(str(run.get("run_id") or "")[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return 0.0
    return stamp.replace(tzinfo=UTC).timestamp()


def default_job_id(configuration_type: str, configuration_id: str) -> str | None:
    prefix = JOB_ID_PREFIXES.get(configuration_type)
    return f"{prefix}|{configuration_id}" if prefix else None


class TailerHook(PipelineHook, connection=TAILER_CONNECTION):
    """
    Talks to the Tailer API (every call a POST carrying an ``action``).

    Connection (type ``tailer``): **host** defaults to the public Tailer API. Auth, either
    (a) a Firebase refresh token in the ``refresh_token`` extra with the project's web API key in
    ``firebase_api_key``: the hook obtains ID tokens and renews them before they expire, so long
    waits keep working; or (b) a JWT (``tailer auth get-token``) in **password**: it works until it
    expires (an hour), then calls fail with an error saying so. Extra ``firebase_token_url``
    overrides the token endpoint. Other extras: ``verify``, ``ca_bundle``, ``timeout``, retries.

    :param tailer_conn_id: the connection id (default ``tailer_default``).
    """

    platform = "Tailer"
    state_map = TAILER_STATES
    start_check = "the configuration's runs in Tailer Studio (or get_last_status)"
    credential_fields = "the JWT in the password, or the refresh_token and firebase_api_key extras"
    default_url = TAILER_API_URL
    can_cancel = False

    def auth_from_connection(self, conn: Connection) -> Auth:
        extras = conn.extra_dejson
        refresh_token = extras.get("refresh_token")
        if refresh_token:
            api_key = extras.get("firebase_api_key")
            if not api_key:
                raise ValueError(
                    "a refresh_token needs the Firebase web API key in the firebase_api_key extra"
                )
            token_url = str(extras.get("firebase_token_url") or FIREBASE_TOKEN_URL)
            return FirebaseRefreshTokenAuth(
                str(refresh_token), str(api_key), token_url, platform=self.platform
            )
        if conn.password:
            return ExpiringJwtAuth(conn.password, self.platform, self.conn_id)
        raise ValueError("set a JWT in the password, or the refresh_token and firebase_api_key extras")

    # -- calls ---------------------------------------------------------------------------------------

    def _call(
        self,
        path: str,
        action: str,
        fields: Mapping[str, Any],
        *,
        name: str | None = None,
        idempotent: bool = True,
        expect: Expect = "json",
    ) -> ApiCall:
        """A POST of ``action`` with the ``fields`` that are not None; the call is named by the action's
        words (``check run status``) unless ``name`` says otherwise."""
        body = {"action": action, **{k: v for k, v in fields.items() if v is not None}}
        name = name or action.replace("_", " ")
        return ApiCall(name, "POST", path, json=body, idempotent=idempotent, expect=expect)

    def _ok(self, name: str, reply: Any) -> dict[str, Any]:
        """
        Actions answer "OK or KO": JSON like ``{"code": 200, "message": "ok"}``, or a bare OK / KO.
        A ``code`` other than 200, or KO, is an error.
        """
        if isinstance(reply, str):
            text = reply.strip().strip('"')
            if text.upper() == "OK" or not text:
                return {"message": text or "ok"}
            if text.upper() == "KO":
                raise PipelineApiError(self.platform, name, 200, "Tailer answered KO")
            try:
                reply = json.loads(reply)
            except (ValueError, RecursionError):
                raise unexpected_reply(self.platform, name, text) from None
        if isinstance(reply, Mapping):
            code = reply.get("code", 200)
            if str(code) != "200":
                raise PipelineApiError(
                    self.platform, name, reply_http_status(code), str(reply.get("message") or reply)
                )
            return dict(reply)
        return {"reply": reply}

    def _results(self, name: str, reply: Any) -> list[dict[str, Any]]:
        results = reply.get("results") if isinstance(reply, Mapping) else None
        if not isinstance(results, list):
            raise unexpected_reply(self.platform, name, reply)
        return [dict(r) for r in results if isinstance(r, Mapping)]

    def launch_job_plan(
        self, job: Mapping[str, str], execution_date: str | None = None, job_id: str | None = None
    ) -> Plan[str]:
        """Launch a table-to-table or table-to-storage job; return its ``run_id``."""
        fields = {**job, "execution_date": execution_date, "job_id": job_id}
        call = self._call("/v1/dag/launch", "launch_job", fields, idempotent=False)
        reply = yield call
        run_id = reply_id(reply.get("run_id")) if isinstance(reply, Mapping) else None
        if run_id is None:
            raise PipelineApiError(
                self.platform, call.name, 200, f"the reply carries no run_id: {str(reply)[:200]!r}"
            )
        return run_id

    def check_run_status_plan(
        self, job: Mapping[str, str], job_id: str, run_id: str
    ) -> Plan[dict[str, Any] | None]:
        """The run record, or None while Tailer has none yet (right after a launch)."""
        call = self._call("/v1/dag/status", "check_run_status", {**job, "job_id": job_id, "run_id": run_id})
        results = self._results(call.name, (yield call))
        return results[0] if results else None

    def get_last_status_plan(
        self,
        job: Mapping[str, str],
        execution_date: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> Plan[list[dict[str, Any]]]:
        """The latest runs, newest first; filters: ``execution_date`` (YYYY-MM-DD), ``status``, ``limit``."""
        fields = {**job, "execution_date": execution_date, "status": status, "limit": limit}
        call = self._call("/v1/dag/status", "get_last_status", fields)
        return self._results(call.name, (yield call))

    def get_by_status_plan(
        self,
        account: str,
        configuration_type: str,
        status: str | None = None,
        execution_date: str | None = None,
        limit: int | None = None,
    ) -> Plan[list[dict[str, Any]]]:
        """Runs across an account's configurations of one type."""
        fields = {"account": account, "configuration_type": configuration_type, "status": status}
        call = self._call(
            "/v1/dag/status", "get_by_status", {**fields, "execution_date": execution_date, "limit": limit}
        )
        return self._results(call.name, (yield call))

    def set_run_status_plan(self, job: Mapping[str, str], run_id: str, status: str) -> Plan[dict[str, Any]]:
        """Set a run's status, e.g. CHECKED for a failed run that was fixed."""
        fields = {**job, "run_id": run_id, "status": status}
        call = self._call("/v1/dag/status", "set_run_status", fields, expect="text")
        return self._ok(call.name, (yield call))

    def reset_workflow_status_plan(self, job: Mapping[str, str]) -> Plan[dict[str, Any]]:
        """Reset a workflow: forget its triggering jobs' states so it starts from scratch."""
        action = "reset_workflow_status"
        call = self._call("/v1/workflow/status", action, job, name="reset workflow", expect="text")
        return self._ok(call.name, (yield call))

    def set_configuration_status_plan(
        self, job: Mapping[str, str], activated: bool, archived: bool = False
    ) -> Plan[dict[str, Any]]:
        """Activate, deactivate or archive a configuration (data operation)."""
        fields = {**job, "activated": bool(activated), "archived": bool(archived)}
        call = self._call("/v1/configuration/status", "set_configuration_status", fields, expect="text")
        return self._ok(call.name, (yield call))

    # -- the public sync API: each runs its plan -----------------------------------------------------

    launch_job = endpoint(launch_job_plan)
    check_run_status = endpoint(check_run_status_plan)
    get_last_status = endpoint(get_last_status_plan)
    get_by_status = endpoint(get_by_status_plan)
    set_run_status = endpoint(set_run_status_plan)
    reset_workflow_status = endpoint(reset_workflow_status_plan)
    set_configuration_status = endpoint(set_configuration_status_plan)

    def check_token_plan(self) -> Plan[Any]:
        """``get_by_status`` naming no account: Tailer checks the token before it reads the request."""
        fields = {"configuration_type": "table-to-table", "limit": 1}
        return (yield self._call("/v1/dag/status", "get_by_status", fields, name="check token"))

    def check_connection(self) -> str:
        """
        Whether the credentials get a token the Tailer API accepts, without naming an account (the
        connection has none, and a guessed one may not be the user's). With a refresh token, Firebase
        first issues an ID token. Then the API is asked for the runs of no account: 401 is a refused
        token, while an answer about the request (400, 422, or a 403/404 about the account) means the
        token was accepted. Any other 403 or 404 is left to the caller (refused; not Tailer's API).
        """
        auth = self.client.auth
        refreshing = isinstance(auth, FirebaseRefreshTokenAuth)
        try:
            reply = self.run(self.check_token_plan())
        except PipelineApiError as exc:
            about_account = "account" in exc.message.lower()
            if not (exc.status in (400, 422) or (exc.status in (403, 404) and about_account)):
                raise
            said = shorten(exc.message, 120)
            answer = f"asked for the runs of no account, it answered HTTP {exc.status}: {said}"
        except PipelineError as exc:
            if not refreshing:  # a pasted JWT that expired: its error says what to do
                raise
            raise PipelineError(
                f"{exc}: check the credentials, the refresh_token and firebase_api_key extras"
            ) from None
        else:
            if not isinstance(reply, Mapping) or not isinstance(reply.get("results"), list):
                # Quoted from the reply, so redacted and capped like a plan's own errors.
                raise self.client.tidy(unexpected_reply(self.platform, "check token", reply))
            answer = "it listed runs"
        if refreshing:
            return f"Firebase issued an ID token for the refresh token; the Tailer API accepted it ({answer})"
        try:
            expires = datetime.fromtimestamp(getattr(auth, "_expires_at", None) or 0, UTC)
        except (OverflowError, ValueError, OSError):  # an exp claim beyond any date
            expires = datetime.fromtimestamp(0, UTC)
        until = f", valid until {expires:%Y-%m-%d %H:%M} UTC" if expires.timestamp() > 0 else ""
        return f"the Tailer API accepted the JWT{until} ({answer})"

    # -- the run protocol ----------------------------------------------------------------------------

    @staticmethod
    def run_ref(job: Mapping[str, str], job_id: str, run_id: str) -> RunRef:
        return {**identity(**job), "job_id": job_id, "run_id": run_id}

    @staticmethod
    def last_status_ref(job: Mapping[str, str], execution_date: str | None = None) -> RunRef:
        """The latest run of a job (optionally of one execution date), whichever it is."""
        label = f"latest of {job['configuration_id']}" + (f" on {execution_date}" if execution_date else "")
        return {**identity(**job), "kind": "last", "execution_date": execution_date, "run_id": label}

    @staticmethod
    def _job(run: Mapping[str, Any]) -> dict[str, str]:
        return identity(*(run[name] for name in JOB_FIELDS))

    def _status(self, record: Mapping[str, Any]) -> RunStatus:
        raw = str(record.get("status") or "")
        details = {
            k: record.get(k) for k in ("run_id", "duration", "start_execution_date", "last_update_date")
        }
        return RunStatus(raw, self.state_map.classify(raw), details)

    def run_status_plan(self, run: Mapping[str, Any]) -> Plan[RunStatus]:
        job = self._job(run)
        if run.get("kind") == "last":
            runs = yield from self.get_last_status_plan(job, run.get("execution_date"), limit=1)
            return self._status(runs[0]) if runs else RunStatus(NO_RUN_YET, RunState.PENDING)
        record = yield from self.check_run_status_plan(job, run["job_id"], run["run_id"])
        if record is None:
            # Tailer has no record right after a launch: the shared grace for "not found" applies.
            raise PipelineApiError(self.platform, "check run status", 404, "no record of this run (yet)")
        return self._status(record)

    def cancel_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        raise NotImplementedError("the Tailer API cannot stop a run")
        yield  # pragma: no cover

    def describe_run(self, run: Mapping[str, Any]) -> str:
        return f"Tailer run {run['run_id']} of {run.get('configuration_id')} ({run.get('environment')})"

    def start_facts_plan(self, run_spec: Mapping[str, Any]) -> Plan[dict[str, Any]]:
        """The job's latest runs before a launch: a run that is not among them was launched after it."""
        runs = yield from self.get_last_status_plan(run_spec["job"], limit=RECENT_RUNS)
        return {"known_runs": [run_id for r in runs if (run_id := reply_id(r.get("run_id"))) is not None]}

    def find_started_run_plan(self, run_spec: Mapping[str, Any], attempt: Attempt) -> Plan[RunRef | None]:
        """
        The run a launch created: among the job's latest runs (newest first), the one that was not
        there before the launch. Several new ones (a launch by someone else as well) are told apart
        by the launch time their run id begins with (inferred, ``YYYYMMDD-HHMMSS``); failing that,
        this cannot tell.
        """
        job, job_id = run_spec["job"], run_spec["job_id"]
        known = {str(run_id) for run_id in attempt.get("known_runs") or ()}
        runs = yield from self.get_last_status_plan(job, limit=RECENT_RUNS)
        new = [
            r
            for r in runs
            if (run_id := reply_id(r.get("run_id"))) is not None
            and run_id not in known
            and str(r.get("job_id") or job_id) == job_id
        ]
        if len(new) > 1:
            recent = [r for r in new if launched_at(r) >= float(attempt["sent_at"]) - CLOCK_SKEW]
            # Narrowed by launch time only when that leaves one: no readable time is no evidence.
            new = recent if len(recent) == 1 else new
        if len(new) > 1:
            raise CannotTell(
                f"Tailer shows {len(new)} new runs of {job['configuration_id']}, none told apart",
                self.start_check,
            )
        return self.run_ref(job, job_id, str(new[0]["run_id"])) if new else None

    def failure_plan(self, run: Mapping[str, Any], status: Mapping[str, Any]) -> Plan[list[str]]:
        fields = ("run_id", "duration", "start_execution_date", "last_update_date")
        shown = [f"{name}: {status[name]}" for name in fields if status.get(name)]
        return returns(
            [f"Tailer {run['configuration_type']} {run['configuration_id']} ({run['environment']})", *shown]
        )


# -- what Tailer tasks act on: declared once for the operators and the sensors --------------------------


class TailerConfigurationTask(PipelineTask):
    """
    A task on one Tailer configuration: ``account``, ``environment``, ``configuration_type``,
    ``configuration_id`` and ``tailer_conn_id``. Its job (:meth:`job`) is the configuration as the
    API knows it (:func:`job_identity`).
    """

    hook_class: ClassVar[type[PipelineHook]] = TailerHook
    template_fields: Sequence[str] = JOB_FIELDS

    def __init__(
        self,
        *,
        account: str,
        environment: str,
        configuration_type: str,
        configuration_id: str,
        tailer_conn_id: str = TailerHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=tailer_conn_id, **kwargs)
        self.account = account
        self.environment = environment
        self.configuration_type = configuration_type
        self.configuration_id = configuration_id
        self.tailer_conn_id = tailer_conn_id

    def job(self) -> dict[str, str]:
        """The job as the API knows it: a table-to-table id gets its ``_<ENVIRONMENT>`` suffix."""
        return job_identity(self.account, self.environment, self.configuration_type, self.configuration_id)

    def job_and_id(self, job_id: str | None) -> tuple[dict[str, str], str | None]:
        """The job, and ``job_id`` or the configuration type's default job (None: the type has none)."""
        job = self.job()
        return job, job_id or default_job_id(job["configuration_type"], job["configuration_id"])
