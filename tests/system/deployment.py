"""
The emulators (each requiring real credentials) plus a real Airflow stack pointed at them.

Every credential is a unique, recognisable string (``SECRETS``) so that the secrets scan of the
reliability run can search every log, table and XCom for each of them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_pipelines.emulators.cdap import CdapEmulatorConfig, CdapEmulatorHandle
from airflow_provider_pipelines.emulators.connections import emulator_connection
from airflow_provider_pipelines.emulators.daggy import DaggyEmulatorConfig, DaggyEmulatorHandle
from airflow_provider_pipelines.emulators.datafusion import DataFusionEmulatorHandle
from airflow_provider_pipelines.emulators.enos import EnosEmulatorConfig, EnosEmulatorHandle
from airflow_provider_pipelines.emulators.flowengine import (
    FlowEngineEmulatorConfig,
    FlowEngineEmulatorHandle,
)
from airflow_provider_pipelines.emulators.tailer import TailerEmulatorConfig, TailerEmulatorHandle
from tests.system.airflow_stack import AirflowStack

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_DAGS = Path(__file__).resolve().parent / "dags"
EXAMPLE_DAGS = ROOT / "example_dags"

# Every credential the deployment configures. None of these may appear in a log, table or XCom.
SECRETS = {
    "cdap_token": "cdap-bearer-Q7x2VvT9secret",
    "daggy_cookie": "daggy-session-K3m8PzR4secret",
    "tailer_refresh_token": "tailer-refresh-W5n1LcY6secret",
    "flowengine_cookie": "flowengine-session-H2j7TqB8secret",
    "enos_app_secret": "enos-app-secret-F9d4XsN3secret",
}
FAST_RETRIES = {"retry_initial_wait": 0.2, "retry_max_wait": 2.0, "retry_attempts": 6}


@dataclass
class Emulators:
    cdap: CdapEmulatorHandle
    daggy: DaggyEmulatorHandle
    tailer: TailerEmulatorHandle
    flowengine: FlowEngineEmulatorHandle
    enos: EnosEmulatorHandle
    # Cloud Data Fusion (example_datafusion): the management API, and the CDAP instance it creates,
    # which accepts only the Google tokens the Data Fusion emulator issued. Not among ``handles``: the
    # fault and timing scenarios are about the five platforms' runs.
    datafusion: DataFusionEmulatorHandle
    datafusion_cdap: CdapEmulatorHandle
    handles: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.handles = {
            "cdap": self.cdap,
            "daggy": self.daggy,
            "tailer": self.tailer,
            "flowengine": self.flowengine,
            "enos": self.enos,
        }

    @classmethod
    def start(cls) -> Emulators:
        return cls(
            cdap=CdapEmulatorHandle.start(CdapEmulatorConfig(token=SECRETS["cdap_token"])),
            daggy=DaggyEmulatorHandle.start(
                DaggyEmulatorConfig(required_headers={"Cookie": f"session={SECRETS['daggy_cookie']}"})
            ),
            tailer=TailerEmulatorHandle.start(
                TailerEmulatorConfig(refresh_tokens={SECRETS["tailer_refresh_token"]})
            ),
            flowengine=FlowEngineEmulatorHandle.start(
                FlowEngineEmulatorConfig(
                    required_headers={"Cookie": f"session={SECRETS['flowengine_cookie']}"}
                )
            ),
            enos=EnosEmulatorHandle.start(EnosEmulatorConfig(app_secret=SECRETS["enos_app_secret"])),
            datafusion=DataFusionEmulatorHandle.start(),
            datafusion_cdap=CdapEmulatorHandle.start(),
        )

    def datafusion_env(self, project_id: str = "emulator-project") -> dict[str, str]:
        """Instances of the Data Fusion emulator served by ``datafusion_cdap``; the provider's Data Fusion
        and IAM URLs; ``google_cloud_default`` holding a key the emulator issued."""
        self.datafusion.config.api_endpoint = self.datafusion_cdap.api_url
        self.datafusion.config.service_endpoint = self.datafusion_cdap.url
        self.datafusion_cdap.accept_tokens_of(self.datafusion.emulator._principal)
        key = self.datafusion.service_account_key(f"airflow@{project_id}.iam.gserviceaccount.com", project_id)
        conn = {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(key)}}
        return {
            "AIRFLOW__PIPELINES__DATAFUSION_API_URL": self.datafusion.url,
            "AIRFLOW__PIPELINES__GOOGLE_IAM_URL": self.datafusion.iam_url,
            "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": json.dumps(conn),
        }

    def connections(self) -> dict[str, dict[str, Any]]:
        """Each platform's default connection, with the deployment's credentials."""
        urls = {name: handle.url for name, handle in self.handles.items()}
        # The emulator serves the UI pages the task links open, where it serves the API.
        cdap = emulator_connection(
            "cdap", urls["cdap"], auth_type="bearer", ui_url=urls["cdap"], **FAST_RETRIES
        )
        cdap["password"] = SECRETS["cdap_token"]
        enos = emulator_connection("enos", urls["enos"], **FAST_RETRIES)
        enos["password"] = SECRETS["enos_app_secret"]
        return {
            "cdap_default": cdap,
            "daggy_default": emulator_connection(
                "daggy",
                urls["daggy"],
                headers={"Cookie": f"session={SECRETS['daggy_cookie']}"},
                **FAST_RETRIES,
            ),
            "tailer_default": emulator_connection(
                "tailer", urls["tailer"], refresh_token=SECRETS["tailer_refresh_token"], **FAST_RETRIES
            ),
            "flowengine_default": emulator_connection(
                "flowengine",
                urls["flowengine"],
                headers={"Cookie": f"session={SECRETS['flowengine_cookie']}"},
                **FAST_RETRIES,
            ),
            "enos_default": enos,
        }

    def stop(self) -> None:
        for handle in (*self.handles.values(), self.datafusion, self.datafusion_cdap):
            handle.stop()

    def reset(self) -> None:
        """Runs, counters, faults and config back to how they started."""
        for handle in self.handles.values():
            handle.reset()

    def set_run_seconds(self, seconds: float) -> None:
        """How long every new run stays running before its outcome."""
        for name, handle in self.handles.items():
            setattr(handle.config, RUN_SECONDS_FIELD[name], seconds)

    def set_faults(self, rate: float, kinds: tuple[str, ...], seed: int, retry_after: float) -> None:
        for offset, handle in enumerate(self.handles.values()):
            handle.set_random_faults(rate, list(kinds), seed=seed + offset, retry_after=retry_after)

    def set_lost_replies(self, rate: float, kinds: tuple[str, ...], seed: int) -> None:
        """Lose the reply of a fraction ``rate`` of the mutations (starts, stops...) after the platform
        carried them out; ``kinds`` among ``502``, ``504``, ``drop``."""
        for offset, handle in enumerate(self.handles.values()):
            handle.set_lost_replies(rate, list(kinds), seed=seed + offset)

    def clear_faults(self) -> dict[str, dict[str, int]]:
        """Stop faulting and losing replies; the faults each emulator injected, lost replies included
        (``lost-502``, ``lost-504``, ``lost-drop``)."""
        injected = {name: handle.stats()["faults_injected"] for name, handle in self.handles.items()}
        for handle in self.handles.values():
            handle.clear_faults()
            handle.set_lost_replies(0.0)
        return injected

    def starts(self, platform: str) -> int:
        """Runs the platform started (a faulted request never reaches the platform's handler)."""
        stats = self.handles[platform].stats()
        if platform == "cdap":
            return int(stats["starts"])
        if platform == "daggy":
            return int(stats["submits"])
        if platform == "tailer":
            return int(stats["launches"])
        if platform == "flowengine":
            return sum(stats["starts_by_pipeline"].values())
        return sum(stats["flow_triggers_by_flow"].values())

    def remote_state(self, platform: str, run_id: Any) -> str:
        """The state the platform shows for one run."""
        if platform == "cdap":
            return next(str(r["status"]) for r in self.cdap.runs() if r["runid"] == run_id)
        if platform == "daggy":
            return str(self.daggy.run(int(run_id))["state"])
        if platform == "tailer":
            return next(str(r["status"]) for r in self.tailer.runs() if r["run_id"] == run_id)
        if platform == "flowengine":
            return str(self.flowengine.run(int(run_id))["status"])
        return str(self.enos.flow_instance(str(run_id))["statusDesc"])


RUN_SECONDS_FIELD = {
    "cdap": "running_seconds",
    "daggy": "task_seconds",
    "tailer": "running_seconds",
    "flowengine": "running_seconds",
    "enos": "running_seconds",
}
# The states a platform shows once it was asked to stop a run.
STOPPED_STATES = {
    "cdap": {"STOPPING", "KILLED"},
    "daggy": {"KILLED"},
    "flowengine": {"stopping", "stopped"},
    "enos": {"CANCEL"},
}


def connection_env(connections: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``{"cdap_default": {...}}`` -> ``{"AIRFLOW_CONN_CDAP_DEFAULT": "<json>"}``."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in connections.items()}


class Deployment:
    """Emulators + Airflow (PostgreSQL, api-server, scheduler, dag-processor, triggerers; with
    ``CeleryExecutor`` also Redis and Celery workers).

    :param executor: ``LocalExecutor`` or ``CeleryExecutor``.
    :param workers: Celery workers (with ``CeleryExecutor``).
    :param triggerers: triggerer processes.
    """

    def __init__(
        self,
        parallelism: int = 8,
        include_examples: bool = True,
        executor: str = "LocalExecutor",
        workers: int = 2,
        triggerers: int = 1,
    ) -> None:
        self.executor = executor
        self.dags = Path(tempfile.mkdtemp(prefix="pipelines-system-dags-"))
        sources = [*sorted(SYSTEM_DAGS.glob("*.py"))]
        if include_examples:
            sources += sorted(EXAMPLE_DAGS.glob("example_*.py"))
        for source in sources:
            shutil.copy(source, self.dags / source.name)
        self.emulators = Emulators.start()
        self.stack = AirflowStack(
            self.dags,
            {**connection_env(self.emulators.connections()), **self.emulators.datafusion_env()},
            parallelism,
            executor=executor,
            workers=workers,
            triggerers=triggerers,
        )

    def start(self) -> None:
        self.stack.start()

    def stop(self, keep_logs_in: Path | None = None) -> None:
        try:
            self.stack.stop()
            self.stack.cleanup(keep_logs_in)
        finally:
            self.emulators.stop()
            shutil.rmtree(self.dags, ignore_errors=True)
