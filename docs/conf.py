"""Sphinx configuration of the documentation site (``make docs``).

The site is built in the Airflow 3 environment: autodoc imports the package, which imports Airflow.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Importing Airflow writes a default configuration into AIRFLOW_HOME: keep it in the build directory.
AIRFLOW_HOME = Path(__file__).resolve().parent / "_build" / "airflow-home"
AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

project = "airflow-provider-pipelines"
author = "airflow-provider-pipelines contributors"
copyright = "the airflow-provider-pipelines contributors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinxcontrib.mermaid",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# MyST: Markdown pages; headings get anchors so `page.md#heading` links are checked.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 4
suppress_warnings: list[str] = []

# autodoc: the parameter references come from the docstrings, written once in the code.
autodoc_default_options: dict[str, str] = {}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autosummary_generate = False

# Mermaid renders in the reader's browser (no mermaid-cli needed at build time).
mermaid_output_format = "raw"

html_theme = "furo"
html_title = "airflow-provider-pipelines"
html_static_path: list[str] = []

# Names that docstrings mention in the short form of their own module (helpers and base classes that
# are not part of the public reference); every other reference must resolve.
nitpick_ignore_regex = [
    (
        r"py:(class|meth|func|data)",
        r"(.*\.)?(PipelineRunTrigger|PipelineApiError|PipelineRunTimeout|HISTORY_PAGE_SIZE|HISTORY_PAGES)",
    ),
    (r"py:meth", r"(Cdap|Daggy|Tailer|FlowEngine|Enos)Hook\.\w+"),
    (r"py:func", r"airflow_provider_pipelines\.hooks\.tailer\.api_configuration_id"),
]
