"""Check every internal link of the built site: the page it names exists and so does its anchor.

Sphinx (``-n``) and MyST already fail the build on a cross-reference they cannot resolve; this also
covers links written as plain HTML targets and anchors inside pages. External links are not fetched
(the build runs offline). Usage: ``python docs/check_links.py docs/_build/html``.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

SKIPPED_DIRS = {"_static", "_sources", "_modules", ".doctrees"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.checked = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            elif name == "href" and tag == "a":
                self.links.append(value)


def check(root: Path) -> tuple[int, list[str]]:
    pages: dict[Path, _Page] = {}
    for path in root.rglob("*.html"):
        if SKIPPED_DIRS & set(path.relative_to(root).parts):
            continue
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages[path.resolve()] = page
    problems = []
    for path, page in sorted(pages.items()):
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("mailto:"):
                continue
            page.checked += 1
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            where = f"{path.relative_to(root.resolve())}: {link}"
            if not target.exists():
                problems.append(f"{where}: no such file")
            elif parts.fragment and target in pages and unquote(parts.fragment) not in pages[target].ids:
                problems.append(f"{where}: no such anchor")
    return sum(page.checked for page in pages.values()), problems


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html")
    if not (root / "index.html").exists():
        print(f"{root}: no built site (run make docs)", file=sys.stderr)
        return 2
    checked, problems = check(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"internal links: {checked} checked, {len(problems)} broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
