"""The README stays a short entry, its quick start is tested code, and the site's included snippets
exist between their markers in the example DAGs (``make docs`` builds and link-checks the site)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "example_dags"
INCLUDE = re.compile(
    r"```\{literalinclude\} (?P<path>\S+)\n(?P<options>(?::[\w-]+:[^\n]*\n)*)```", re.MULTILINE
)


def snippet(path: Path, marker: str) -> str:
    """The lines between ``# [START marker]`` and ``# [END marker]``, dedented, as the docs show them."""
    text = path.read_text()
    starts = re.findall(rf"^[ \t]*# \[START {re.escape(marker)}\]\n", text, re.MULTILINE)
    ends = re.findall(rf"^[ \t]*# \[END {re.escape(marker)}\]$", text, re.MULTILINE)
    assert len(starts) == 1 and len(ends) == 1, f"{path.name}: {marker} must have one START and one END"
    body = text.split(starts[0], 1)[1].split(ends[0], 1)[0]
    return textwrap.dedent(body).strip()


def includes() -> list[tuple[Path, Path, dict[str, str]]]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        for match in INCLUDE.finditer(page.read_text()):
            options = dict(re.findall(r":([\w-]+):[ \t]*([^\n]*)", match.group("options")))
            found.append((page, (page.parent / match.group("path")).resolve(), options))
    return found


def test_readme_is_a_short_entry_that_links_to_the_site() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 10 * 1024
    for target in re.findall(r"\]\(((?:docs|example_dags)/[^)#]+)", readme):
        assert (ROOT / target).exists(), f"README links to a missing {target}"
    assert "make demo" in readme and "make test" in readme and "pip install" in readme


def test_readme_quick_start_is_a_snippet_of_a_tested_example_dag() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1]
    code = re.search(r"```python\n(.*?)```", quick_start, re.DOTALL)
    assert code, "the quick start shows no Python"
    assert code.group(1).strip() == snippet(EXAMPLES / "example_cdap.py", "howto_cdap_start_deferrable")


def test_the_docs_include_example_code_and_never_copy_it() -> None:
    found = includes()
    assert len(found) >= 25
    for page, path, options in found:
        assert path.is_file(), f"{page.name}: includes a missing {path}"
        assert path.parent == EXAMPLES, f"{page.name}: includes {path}, not an example DAG"
        if "start-after" in options:
            marker = re.fullmatch(r"\[START (\w+)\]", options["start-after"])
            assert marker and options.get("end-before") == f"[END {marker.group(1)}]", page.name
            assert snippet(path, marker.group(1)), f"{page.name}: {marker.group(1)} is empty"
    # On the user's pages, Python is an import list or an included snippet, never DAG code typed in.
    for page in [DOCS / "index.md", *DOCS.glob("concepts/*.md"), *DOCS.glob("platforms/*.md")]:
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.DOTALL):
            lines = [line for line in block.splitlines() if line.strip() and not line.startswith(" ")]
            assert all(re.match(r"(from|import|\)|#)", line) for line in lines), f"{page.name}: {block[:60]}"


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("example_*.py")), ids=lambda path: path.name)
def test_every_snippet_marker_is_paired_and_shown(example: Path) -> None:
    text = example.read_text()
    markers = re.findall(r"# \[START (\w+)\]", text)
    assert markers, f"{example.name} has no how-to snippets"
    shown = {
        options["start-after"][len("[START ") : -1]
        for _, _, options in includes()
        if "start-after" in options
    }
    for marker in markers:
        assert snippet(example, marker)
        assert marker in shown, f"{example.name}: {marker} is marked but no page includes it"
