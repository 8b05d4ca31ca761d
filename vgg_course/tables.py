"""Tables for a notebook cell: a header and rows of strings, as text, HTML or Markdown.

Every table the kit shows (state_dict keys, parameter counts, blocks, a training history,
an image folder's counts, the comparison lab's results, the grader's summary) is laid out
here, so they all read alike: text for ``__repr__``, HTML for ``_repr_html_``, Markdown
for ``_repr_markdown_`` and ``.md`` files. The owner formats its cells (``f"{n:,}"``);
a table only aligns them, right-aligned for the columns in ``right``.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal or a notebook's text output: two for a wide
    (East Asian) character such as 分 or ア, one for the rest.

    Example:
        >>> display_width("split"), display_width("分割")
        (5, 4)
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


@dataclass(frozen=True)
class Table:
    """A header and rows of already formatted cells; shows as a table in a cell.

    Args:
        header: the column names.
        rows: one sequence of cells per row, as many as the header.
        right: indices of the columns aligned right (numbers).
        caption: shown above the HTML table.
        bold: indices of the rows shown in bold in HTML (the best epoch, say).
        rule: a line of dashes under the header in the text form.

    Example:
        >>> t = Table(["layer", "parameters"], [["conv1", "1,792"], ["fc", "4,097,000"]], right={1})
        >>> print(t.text())
        layer  parameters
        conv1       1,792
        fc      4,097,000
        >>> print(t.markdown())
        | layer | parameters |
        |---|---:|
        | conv1 | 1,792 |
        | fc | 4,097,000 |
    """

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    right: Iterable[int] = frozenset()
    caption: str = ""
    bold: Iterable[int] = frozenset()
    rule: bool = False
    widths: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        header = tuple(str(h) for h in self.header)
        rows = tuple(tuple(str(c) for c in row) for row in self.rows)
        for i, row in enumerate(rows):
            if len(row) != len(header):
                raise ValueError(f"row {i} has {len(row)} cells, the header {len(header)}")
        widths = tuple(max(display_width(r[i]) for r in (header, *rows))
                       for i in range(len(header)))
        for name, value in (("header", header), ("rows", rows), ("right", frozenset(self.right)),
                            ("bold", frozenset(self.bold)), ("widths", widths)):
            object.__setattr__(self, name, value)

    def _line(self, cells: Sequence[str]) -> str:
        return "  ".join(_pad(c, w, i in self.right)
                         for i, (c, w) in enumerate(zip(cells, self.widths))).rstrip()

    def text(self) -> str:
        """Columns two spaces apart, padded to the widest cell."""
        rule = [self._line(["-" * w for w in self.widths])] if self.rule else []
        return "\n".join([self._line(self.header), *rule, *map(self._line, self.rows)])

    def html(self) -> str:
        """An HTML ``<table>``; every cell escaped."""
        def cell(tag: str, i: int, text: str) -> str:
            align = ' style="text-align:right"' if i in self.right else ""
            return f"<{tag}{align}>{html.escape(text)}</{tag}>"

        head = "".join(cell("th", i, h) for i, h in enumerate(self.header))
        body = "".join(
            ('<tr style="font-weight:bold">' if n in self.bold else "<tr>")
            + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>"
            for n, row in enumerate(self.rows))
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def markdown(self) -> str:
        """A Markdown (GitHub) table; ``|`` in a cell is escaped, a newline becomes a space."""
        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

        align = "|" + "".join("---:|" if i in self.right else "---|" for i in range(len(self.header)))
        return "\n".join([line(self.header), align, *map(line, self.rows)])

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()
