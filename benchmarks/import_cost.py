"""DAG-parse cost: the import time of each operator module over ``import airflow``, in fresh interpreters.

Each sample is a new Python process that imports ``airflow``, then the module, timing both; the
modules take turns so that a noisy moment spreads over all of them. A competitor module that is not
installed is left out. ``python -m benchmarks.import_cost [--runs N]`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

from benchmarks.common import median

OURS = [
    f"airflow_provider_pipelines.operators.{p}" for p in ("cdap", "daggy", "tailer", "flowengine", "enos")
]
COMPETITORS = {
    "airflow.providers.dbt.cloud.operators.dbt": "dbt Cloud",
    "airflow.providers.google.cloud.operators.datafusion": "Google Data Fusion",
}

_PROBE = """
import importlib, json, sys, time
start = time.perf_counter()
import airflow
middle = time.perf_counter()
importlib.import_module(sys.argv[1])
end = time.perf_counter()
print(json.dumps([middle - start, end - middle]))
"""


def _sample(module: str) -> tuple[float, float]:
    # With bytecode, as in a deployment: the first (unmeasured) import of each module writes it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module], capture_output=True, text=True, check=True, env=env
    ).stdout
    airflow_s, module_s = json.loads(out.strip().splitlines()[-1])
    return float(airflow_s), float(module_s)


def measure(runs: int = 11) -> dict[str, Any]:
    """``{module: {"median_s", "airflow_median_s", "runs"}}``: median seconds over ``import airflow``."""
    modules = []
    for module in OURS + list(COMPETITORS):  # once unmeasured: file cache, bytecode, is it installed
        try:
            _sample(module)
        except subprocess.CalledProcessError:
            if module in OURS:
                raise
            continue
        modules.append(module)
    samples: dict[str, list[tuple[float, float]]] = {m: [] for m in modules}
    for _ in range(runs):
        for module in modules:
            samples[module].append(_sample(module))
    return {
        module: {
            "label": COMPETITORS.get(module, "airflow-provider-pipelines"),
            "median_s": round(median([m for _, m in values]), 4),
            "airflow_median_s": round(median([a for a, _ in values]), 4),
            "runs": len(values),
        }
        for module, values in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    print(json.dumps(measure(parser.parse_args().runs)))


if __name__ == "__main__":
    main()
