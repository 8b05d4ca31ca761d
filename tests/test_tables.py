"""Tests for vgg_course.tables: one layout for every table the kit shows."""

from __future__ import annotations

import pytest

from vgg_course import tables


def test_text_pads_to_the_widest_cell_and_aligns_numbers_right():
    t = tables.Table(["name", "n"], [["a", "1,000"], ["longer", "7"]], right={1})
    assert t.text().splitlines() == ["name        n", "a       1,000", "longer      7"]
    ruled = tables.Table(["name", "n"], [["a", "1"]], rule=True).text().splitlines()
    assert ruled == ["name  n", "----  -", "a     1"]


def test_html_escapes_every_cell_and_marks_alignment_caption_and_bold_rows():
    t = tables.Table(["<k>", "n"], [["a&b", "1"], ["c", "2"]], right={1}, caption="two <rows>",
                     bold={1})
    html = t.html()
    assert html.startswith("<table><caption>two &lt;rows&gt;</caption><thead><tr><th>&lt;k&gt;</th>")
    assert '<th style="text-align:right">n</th>' in html and "<td>a&amp;b</td>" in html
    assert '<tr style="font-weight:bold"><td>c</td><td style="text-align:right">2</td></tr>' in html
    assert t._repr_html_() == html and repr(t) == t.text()


def test_markdown_escapes_pipes_and_newlines_and_right_aligns():
    t = tables.Table(["a", "b"], [["x|y", "line\nbreak"]], right={1})
    assert t.markdown().splitlines() == ["| a | b |", "|---|---:|", "| x\\|y | line break |"]


def test_an_empty_table_is_its_header_and_a_ragged_row_is_refused():
    assert tables.Table(["a", "bb"], []).text() == "a  bb"
    with pytest.raises(ValueError, match="row 0 has 1 cells, the header 2"):
        tables.Table(["a", "b"], [["only one"]])


def test_japanese_cells_line_up_in_the_text_form():
    from vgg_course.tables import Table, display_width

    lines = Table(["分割", "合計"], [["train", "244"], ["検証", "153"]], right={1}).text().splitlines()
    assert lines == ["分割   合計", "train   244", "検証    153"]
    assert len({display_width(line) for line in lines}) == 1  # every row as wide on screen
