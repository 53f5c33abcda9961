"""The few Airflow names this provider needs, imported the same way on Airflow 2.10 and 3.x."""

from __future__ import annotations

from typing import Any

from airflow import __version__ as airflow_version
from airflow.configuration import conf
from airflow.exceptions import AirflowException

try:  # Airflow 3: the task SDK
    from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink, BaseSensorOperator
    from airflow.sdk.log import mask_secret as _mask_secret
except ImportError:  # Airflow 2.10
    from airflow.hooks.base import BaseHook  # type: ignore
    from airflow.models.baseoperator import BaseOperator  # type: ignore
    from airflow.models.baseoperatorlink import BaseOperatorLink  # type: ignore
    from airflow.sensors.base import BaseSensorOperator  # type: ignore
    from airflow.utils.log.secrets_masker import mask_secret as _mask_secret  # type: ignore

from airflow.triggers.base import BaseTrigger, TriggerEvent

try:
    from airflow.sdk.exceptions import AirflowTaskTimeout
except ImportError:  # Airflow 2.10
    from airflow.exceptions import AirflowTaskTimeout  # type: ignore

AIRFLOW_3 = int(airflow_version.split(".")[0]) >= 3


def mask_secret(value: Any) -> None:
    """Register a value with Airflow's log masker so it is printed as ***."""
    if value:
        _mask_secret(value)


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, the convention for the ``deferrable`` default."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


__all__ = [
    "AIRFLOW_3",
    "AirflowException",
    "AirflowTaskTimeout",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseTrigger",
    "TriggerEvent",
    "conf",
    "default_deferrable",
    "mask_secret",
]
