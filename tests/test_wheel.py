"""The wheel users install: built once per session (hatchling, as ``pip install`` would), then read."""

from __future__ import annotations

import email
import email.message
import re
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from airflow_provider_pipelines import __version__
from airflow_provider_pipelines.get_provider_info import PROJECT_URLS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_pipelines"
DIST_INFO = f"{PACKAGE}-{__version__}.dist-info"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # PEP 517's build_wheel with the environment's hatchling: no isolated env, so no download.
    subprocess.run(
        [sys.executable, "-c", "import sys, hatchling.build as b; b.build_wheel(sys.argv[1])", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.fixture(scope="session")
def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        return email.message_from_bytes(archive.read(f"{DIST_INFO}/METADATA"))


def test_the_wheel_holds_the_package_and_its_dist_info_only(names: list[str]) -> None:
    tops = {PurePosixPath(name).parts[0] for name in names}
    assert tops == {PACKAGE, DIST_INFO}
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # Every file of the package source is shipped (py.typed included), and nothing else.
    source = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert {name for name in names if name.startswith(f"{PACKAGE}/")} == source
    assert f"{PACKAGE}/py.typed" in names
    assert f"{PACKAGE}/emulators/pytest_plugin.py" in names
    assert {"METADATA", "WHEEL", "RECORD", "entry_points.txt"} <= {
        PurePosixPath(name).name for name in names if name.startswith(f"{DIST_INFO}/")
    }


def test_the_only_entry_point_is_airflows_provider_info(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(f"{DIST_INFO}/entry_points.txt").decode()
    groups = re.findall(r"^\[(.+)\]$", entry_points, re.MULTILINE)
    assert groups == ["apache_airflow_provider"]  # no pytest11: the pytest plugin is opt-in
    assert f"provider_info = {PACKAGE}.get_provider_info:get_provider_info" in entry_points


def test_metadata_carries_the_project_urls_and_the_requirements(metadata: email.message.Message) -> None:
    assert metadata["Name"] == "airflow-provider-pipelines"
    assert metadata["Version"] == __version__
    assert metadata["Requires-Python"] == ">=3.11"
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL", []))
    assert urls == dict(PROJECT_URLS)
    requires = metadata.get_all("Requires-Dist", [])
    assert "apache-airflow>=2.10.0" in requires
    assert any(r.startswith("google-auth") and "extra == 'google'" in r for r in requires)


def test_the_long_description_renders_as_pypi_renders_it(metadata: email.message.Message) -> None:
    import readme_renderer.markdown

    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert isinstance(description, str)
    html = readme_renderer.markdown.render(description)
    assert html is not None, "readme_renderer could not render the README (is readme-renderer[md] installed?)"
    readme = (ROOT / "README.md").read_text()
    for heading in re.findall(r"^#{1,3} (.+)$", readme, re.MULTILINE)[:20]:
        plain = re.sub(r"[`*_]", "", heading).strip()
        assert plain.split()[0] in html, f"heading {heading!r} is missing from the rendered page"
    # Relative links point nowhere on PyPI's page: the build makes them absolute (pyproject.toml).
    targets = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert targets, "the README links to nothing?"
    assert [t for t in targets if not re.match(r"(https?://|mailto:|#)", t)] == []


def test_twine_check_passes(wheel: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED" in done.stdout
