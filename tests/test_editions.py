"""One source, two editions: the bilingual masters, the generated en/ and ja/ editions, and the
language a kernel speaks (issue 21)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from vgg_course import config
from vgg_course.instructor import authoring, editions

ROOT = Path(__file__).resolve().parents[1]
MASTERS = authoring.lesson_notebooks()
JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龥]")
TERMS = ("転移学習", "ファインチューニング", "凍結", "全結合層", "特徴抽出", "学習率", "エポック")


def _read(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_every_english_cell_has_a_current_japanese_one(master):
    assert editions.problems(_read(master), master.name) == []


def test_the_committed_editions_are_the_masters_editions():
    stale = editions.write_editions(MASTERS, check=True)
    assert stale == [], "run `python -m vgg_course editions` and commit notebooks/en and notebooks/ja"


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_both_editions_share_every_code_cell_and_output(master):
    en = _read(ROOT / "notebooks" / "en" / master.name)
    ja = _read(ROOT / "notebooks" / "ja" / master.name)
    code = [(c.id, c.source, c.get("outputs"), c.metadata) for c in en.cells if c.cell_type == "code"]
    assert code == [(c.id, c.source, c.get("outputs"), c.metadata)
                    for c in ja.cells if c.cell_type == "code"]
    assert len(en.cells) == len(ja.cells) and en.cells and code
    # the prose is one language each, in the same places
    for a, b in zip(en.cells, ja.cells):
        assert a.cell_type == b.cell_type
        if a.cell_type == "markdown":
            assert editions.cell_lang(a) == "en" and editions.cell_lang(b) == "ja"
            assert JAPANESE.search(b.source), b.source[:80]
            if a.id != "glossary":  # English, the article's quoted title (「…」) aside
                assert not JAPANESE.search(re.sub("「[^」]*」", "", a.source)), a.source[:80]
            if "nbgrader" in a.metadata:  # one assignment, whichever edition it comes from
                assert a.metadata.nbgrader == b.metadata.nbgrader
    assert en.metadata.vgg_course["edition"] == "en" and ja.metadata.vgg_course["edition"] == "ja"


def test_the_japanese_edition_uses_the_articles_terms_and_00_has_the_glossary():
    text = "\n".join(c.source for p in sorted((ROOT / "notebooks" / "ja").glob("0*.ipynb"))
                     for c in _read(p).cells if c.cell_type == "markdown")
    for term in TERMS:
        assert term in text, term
    glossary = next(c for c in _read(ROOT / "notebooks" / "ja" / "00_setup_check.ipynb").cells
                    if c.cell_type == "markdown" and c.source.startswith("## 用語集"))
    for term in TERMS:
        assert term in glossary.source, term
    for word in ("transfer learning", "fine-tuning", "learning rate", "epoch"):
        assert word in glossary.source


def test_a_changed_english_cell_makes_its_japanese_stale_until_reviewed(tmp_path):
    master = tmp_path / MASTERS[3].name
    master.write_bytes(MASTERS[3].read_bytes())
    nb = _read(master)
    en = next(c for c in nb.cells if editions.cell_lang(c) == "en")
    en.source += "\n\nOne more sentence."
    nbformat.write(nb, master)
    found = editions.problems(_read(master), master.name)
    assert len(found) == 1 and "changed after its Japanese cell" in found[0] and en.id in found[0]
    editions.mark_reviewed(master, en.id)
    assert editions.problems(_read(master), master.name) == []
    # an English cell without its Japanese one, a tagged code cell, an untagged prose cell
    nb = _read(master)
    index = next(i for i, c in enumerate(nb.cells) if editions.cell_lang(c) == "ja")
    del nb.cells[index]
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.metadata["tags"] = ["lang-en"]
    nb.cells.append(nbformat.v4.new_markdown_cell("untagged"))
    kinds = editions.problems(nb, master.name)
    assert any("no Japanese cell" in k for k in kinds)
    assert any("only prose is per language" in k for k in kinds)
    assert any("no language tag" in k for k in kinds)


def test_the_editions_command_writes_and_checks(tmp_path, capsys):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    (lessons / MASTERS[2].name).write_bytes(MASTERS[2].read_bytes())
    (lessons / "sanitize.cfg").write_text("[x]\n")
    written = editions.write_editions(lessons=lessons)
    assert {p.relative_to(lessons).as_posix() for p in written} == {
        "en/sanitize.cfg", "ja/sanitize.cfg", f"en/{MASTERS[2].name}", f"ja/{MASTERS[2].name}",
        f"en/student/{MASTERS[2].stem}_student.ipynb", f"ja/student/{MASTERS[2].stem}_student.ipynb"}
    assert editions.write_editions(lessons=lessons, check=True) == []
    student = _read(lessons / "ja" / "student" / f"{MASTERS[2].stem}_student.ipynb")
    assert not any(c.get("outputs") for c in student.cells if c.cell_type == "code")
    assert "BEGIN SOLUTION" not in nbformat.writes(student)


def test_a_kernel_speaks_its_editions_language(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "notebooks" / "ja" / "student").mkdir(parents=True)
    (course / "notebooks" / "en").mkdir(parents=True)
    (course / config.MARKER).write_text("{}")
    monkeypatch.delenv("VGG_COURSE_LANG", raising=False)
    monkeypatch.delenv("VGG_COURSE_DIR", raising=False)
    for folder, lang in (("notebooks/ja/student", "ja"), ("notebooks/ja", "ja"),
                         ("notebooks/en", "en"), ("notebooks", "en")):
        monkeypatch.chdir(course / folder)
        config.reset()
        assert config.settings().lang == lang, folder
    monkeypatch.setenv("VGG_COURSE_LANG", "en")  # the explicit override wins
    monkeypatch.chdir(course / "notebooks" / "ja")
    config.reset()
    assert config.settings().lang == "en"
    monkeypatch.delenv("VGG_COURSE_LANG")
    flat = tmp_path / "flat"  # `lessons DEST --lang ja`: a flat course folder, its marker says ja
    flat.mkdir()
    (flat / config.MARKER).write_text(json.dumps({"lang": "ja", "files": {}}))
    monkeypatch.chdir(flat)
    config.reset()
    assert config.settings().lang == "ja"
    with config.use(lang="en"):
        assert config.settings().lang == "en"
    config.reset()


def test_lessons_dest_lang_ja_copies_the_japanese_edition(tmp_path):
    from vgg_course import workspace

    report = workspace.copy_lessons(tmp_path / "course", lang="ja")
    assert "03_freezing.ipynb" in report.copied and "student/03_freezing_student.ipynb" in report.copied
    nb = _read(tmp_path / "course" / "03_freezing.ipynb")
    assert nb.metadata.vgg_course["edition"] == "ja" and JAPANESE.search(nb.cells[0].source)
    assert json.loads((tmp_path / "course" / config.MARKER).read_text())["lang"] == "ja"
    assert config.edition_lang(tmp_path / "course", tmp_path / "course") == "ja"
    with pytest.raises(ValueError, match="unknown language"):
        workspace.copy_lessons(tmp_path / "other", lang="fr")


def test_the_japanese_readme_has_the_same_two_commands_and_lists_every_lesson():
    text = (ROOT / "README.ja.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "```bash\nmake lab LANG=ja\n```" in text and "```bash\nmake test\n```" in text
    assert "```bash\nmake lab\n```" in readme and "```bash\nmake test\n```" in readme
    assert "README.ja.md" in readme and "(README.md)" in text  # each links the other
    for master in MASTERS:
        row = next((line for line in text.splitlines() if f"`{master.stem}`" in line), "")
        assert JAPANESE.search(row), f"README.ja.md does not list {master.stem} in Japanese"
