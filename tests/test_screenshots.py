"""The documentation's pictures: every image a page shows exists, and the screenshots ``make
docs-screenshots`` commits are whole PNGs of the fixed viewport, small enough for the repository."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest

from airflow_provider_pipelines.platforms import PLATFORMS

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCREENSHOTS = DOCS / "_static" / "screenshots"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# MyST's image syntax, and the image and figure directives (backtick or colon fences).
IMAGE_PATTERNS = (
    re.compile(r"!\[[^\]]*\]\(([^)\s]+)"),
    re.compile(r"^(?:```|:::)\{(?:image|figure)\}\s+(\S+)", re.MULTILINE),
)


def pages() -> list[Path]:
    return [page for page in sorted(DOCS.rglob("*.md")) if "_build" not in page.parts]


def referenced_images() -> dict[Path, list[str]]:
    """Image file -> the pages showing it (remote images left out)."""
    images: dict[Path, list[str]] = {}
    for page in pages():
        text = page.read_text(encoding="utf-8")
        shown_by = str(page.relative_to(DOCS))
        for pattern in IMAGE_PATTERNS:
            for target in pattern.findall(text):
                if not re.match(r"[a-z]+://", target):
                    images.setdefault((page.parent / target).resolve(), []).append(shown_by)
    return images


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG, each one's CRC checked."""
    assert data.startswith(PNG_SIGNATURE), "not a PNG"
    chunks, position = [], len(PNG_SIGNATURE)
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        crc = int.from_bytes(data[position + 8 + length : position + 12 + length], "big")
        assert zlib.crc32(kind + body) == crc, f"bad CRC in the {kind!r} chunk"
        chunks.append((kind, body))
        position += 12 + length
    return chunks


def test_every_image_a_page_shows_exists() -> None:
    images = referenced_images()
    assert images, "no page shows an image"
    missing = {str(path): shown_by for path, shown_by in images.items() if not path.is_file()}
    assert not missing


def test_every_connection_form_and_the_task_page_are_shown() -> None:
    shown = {path.name for path in referenced_images()}
    expected = {f"{platform.name}.png" for platform in PLATFORMS} | {"cdap-task-links.png"}
    assert expected <= shown
    # and no screenshot is committed that no page shows
    assert {path.name for path in SCREENSHOTS.glob("*")} <= shown


@pytest.mark.parametrize("path", sorted(SCREENSHOTS.glob("*")), ids=lambda path: path.name)
def test_screenshot_is_a_small_whole_png(path: Path) -> None:
    data = path.read_bytes()
    assert 10_000 < len(data) < 200_000, f"{path.name}: {len(data)} bytes"
    chunks = png_chunks(data)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    header = chunks[0][1]
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    assert (width, height) == (1280, 800)  # the fixed viewport of scripts/docs_screenshots.py
    bit_depth, colour_type = header[8], header[9]
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]  # greyscale, RGB, grey+alpha, RGBA
    assert len(pixels) == height * (1 + width * channels * bit_depth // 8)  # every row, filter byte first
