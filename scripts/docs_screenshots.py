"""
``make docs-screenshots``: the documentation's pictures of Airflow 3's UI, taken by headless Chromium.

Starts what ``make system-test`` starts (the emulators, PostgreSQL, an Airflow 3 deployment with the
LocalExecutor; see ``tests/system``), runs ``example_cdap`` to its end, then saves, at a fixed viewport
of 1280x800, into ``docs/_static/screenshots/``:

- ``<platform>.png``: the add-connection form with that platform's connection type chosen;
- ``cdap-task-links.png``: the Details tab of the finished ``daily_sales`` task, with its extra link.

The PNGs are committed, so ``make docs`` needs no browser. Run again after a change to a connection form
or to the links: ``make docs-screenshots`` (about a minute and a half).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import zlib
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the system-test harness lives in tests/system

from airflow_provider_pipelines.platforms import PLATFORMS  # noqa: E402
from tests.system.browser import AirflowUI  # noqa: E402
from tests.system.deployment import EXAMPLE_DAGS, Deployment  # noqa: E402

OUT = ROOT / "docs" / "_static" / "screenshots"
WIDTH, HEIGHT = 1280, 800
TASK_PICTURE = "cdap-task-links"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fixed_viewport(ui: AirflowUI) -> None:
    """The same pixels on every machine: the page's viewport, not the window (whose chrome varies)."""
    ui.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )


def recompress(png: bytes) -> bytes:
    """The same image, its pixel data deflated at the highest level (Chromium favours speed)."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    chunks: list[tuple[bytes, bytes]] = []
    position = len(PNG_SIGNATURE)
    while position < len(png):
        length = int.from_bytes(png[position : position + 4], "big")
        kind = png[position + 4 : position + 8]
        chunks.append((kind, png[position + 8 : position + 8 + length]))
        position += 12 + length
    pixels = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    first_idat = next(i for i, (kind, _) in enumerate(chunks) if kind == b"IDAT")
    chunks = [(kind, data) for kind, data in chunks if kind != b"IDAT"]
    chunks.insert(first_idat, (b"IDAT", zlib.compress(pixels, 9)))
    return PNG_SIGNATURE + b"".join(
        len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        for kind, data in chunks
    )


def save(ui: AirflowUI, name: str) -> Path:
    time.sleep(0.5)  # let transitions (the dialog's fade-in, a select closing) finish before the shot
    path = OUT / f"{name}.png"
    path.write_bytes(recompress(ui.driver.get_screenshot_as_png()))
    print(f"  {path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB", flush=True)
    return path


def connection_forms(ui: AirflowUI) -> None:
    for platform in PLATFORMS:
        ui.new_connection_form(f"my_{platform.name}", platform.display_name)
        # Show the platform's own fields: open the "Extra Fields" section where they are.
        for section in ui.xpath("//button[@aria-expanded='false']"):
            if section.text == "Extra Fields":
                section.click()
                ui.wait(lambda: not ui.xpath("//button[@aria-expanded='false' and .='Extra Fields']"), "open")
        save(ui, platform.name)
        ui.driver.refresh()


def task_links(ui: AirflowUI, run_id: str) -> None:
    links = ui.extra_links("example_cdap", run_id, "daily_sales", ["CDAP pipeline"])
    if not links:
        raise RuntimeError("the CDAP task shows no extra link")
    link = ui.one("//a[normalize-space(.)='CDAP pipeline']", "the CDAP pipeline link")
    ui.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
    save(ui, TASK_PICTURE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    deployment = Deployment(parallelism=4, include_examples=False)
    shutil.copy(EXAMPLE_DAGS / "example_cdap.py", deployment.dags / "example_cdap.py")
    ui: AirflowUI | None = None
    try:
        print("Starting PostgreSQL and Airflow 3 (LocalExecutor) against the emulators", flush=True)
        deployment.start()
        stack = deployment.stack
        stack.wait_for_dags(["example_cdap"])
        run_id = stack.trigger("example_cdap")
        ui = AirflowUI(stack.api)
        fixed_viewport(ui)
        print("Connection forms", flush=True)
        connection_forms(ui)  # while example_cdap runs
        state = stack.wait_for_run("example_cdap", run_id, timeout=300)
        if state != "success":
            raise RuntimeError(f"example_cdap ended {state}: {stack.task_states('example_cdap', run_id)}")
        print(f"The finished task's links (run {quote(run_id)})", flush=True)
        task_links(ui, run_id)
    finally:
        if ui is not None:
            ui.close()
        deployment.stop()
    print(f"Done in {time.monotonic() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
