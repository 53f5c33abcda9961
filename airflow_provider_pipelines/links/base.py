"""Extra links whose URL the task stored in XCom while it ran (the webserver needs no connection)."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_pipelines.core.compat import BaseOperatorLink


def read_xcom(ti_key: Any, key: str) -> Any:
    try:
        from airflow.sdk.execution_time.xcom import XCom
    except ImportError:  # Airflow 2
        from airflow.models.xcom import XCom  # type: ignore
    return XCom.get_value(ti_key=ti_key, key=key)


class StoredUrlLink(BaseOperatorLink):
    """A link to the URL a task pushed to XCom under ``url_key``; empty until the task stored one."""

    name: ClassVar[str] = ""  # type: ignore[misc]
    url_key: ClassVar[str] = ""

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        value = read_xcom(ti_key, self.url_key)
        return str(value) if value else ""
