"""Plain-text and HTML tables for plans, run results and the command line."""

from __future__ import annotations

import html
from collections.abc import Sequence


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], rule: bool = False) -> str:
    """Columns padded to their widest cell; `rule` adds a dashed line under the header."""
    all_rows = [tuple(header), *[tuple(r) for r in rows]]
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in all_rows]
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def html_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], backgrounds: Sequence[str | None] | None = None
) -> str:
    """A bare HTML table with every cell escaped; `backgrounds` colours rows (CSS colours)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    colours = list(backgrounds or []) + [None] * (len(rows) - len(backgrounds or []))
    body = "".join(
        (f'<tr style="background:{html.escape(colour)}">' if colour else "<tr>")
        + "".join(f"<td>{html.escape(c)}</td>" for c in row)
        + "</tr>"
        for row, colour in zip(rows, colours)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
