"""Apache Airflow provider for CDAP / Cloud Data Fusion, Daggy, Tailer, FlowEngine and EnOS pipelines."""

from __future__ import annotations

__version__ = "0.1.0"
