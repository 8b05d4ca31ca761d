"""Everything a student reads is in their language: gettext catalogs, complete and compiled,
and a Japanese notebook graded exactly as the English one (issue 21)."""

from __future__ import annotations

import importlib.util
import re
import string
from pathlib import Path

import nbformat
import pytest

from vgg_course import config, i18n

ROOT = Path(__file__).resolve().parents[1]
JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龥]")
_spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
catalogs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogs)


def _fields(text: str) -> list[str]:
    return sorted({f for _, f, _, _ in string.Formatter().parse(text) if f is not None})


def test_every_marked_message_has_japanese_and_the_compiled_catalog_is_current(capsys):
    assert catalogs.main(["--check"]) == 0, capsys.readouterr().err
    assert len(catalogs.template()) > 100  # the kit's sentences are marked, not a handful


def test_every_translation_keeps_the_templates_fields():
    cat = catalogs.updated("ja", catalogs.template())
    for message in cat:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert _fields(text) == _fields(ids[0]), (ids[0][:80], text[:80])
            assert JAPANESE.search(text) or not JAPANESE.search(ids[0]) or text == ids[0]


def test_the_language_follows_the_settings_and_english_is_the_source():
    with config.use(lang="en"):
        assert i18n._("passed") == "passed"
    with config.use(lang="ja"):
        assert i18n.lang() == "ja"
    assert i18n.in_lang("en", "anything at all") == "anything at all"


def test_a_student_reads_banners_checks_and_errors_in_japanese(tmp_path, monkeypatch):
    from vgg_course import weights
    from vgg_course.exercises import freezing

    with config.use("quick", lang="ja") as s:
        assert JAPANESE.search(s.banner().text)
        wrong = freezing.q2.check(lambda model: 0)
        shown = repr(wrong) + getattr(wrong, "_repr_html_", lambda: "")()
        assert wrong.status == "failed" and JAPANESE.search(shown), shown[:300]
        monkeypatch.setenv("TORCH_HOME", str(tmp_path))
        with pytest.raises(weights.WeightsUnavailableError) as missing:
            weights.load_state_dict(download=False)
        assert JAPANESE.search(str(missing.value)), str(missing.value)[:300]
    with config.use("quick", lang="en") as s:
        assert not JAPANESE.search(s.banner().text)
        wrong = freezing.q2.check(lambda model: 0)
        assert not JAPANESE.search(repr(wrong))


@pytest.mark.slow
def test_a_japanese_notebook_is_graded_exactly_as_the_english_one(tmp_path):
    from submission_factory import solution_answers
    from vgg_course.instructor import grading, sandbox, submissions

    if sandbox.problem() is not None:
        pytest.skip(f"no bubblewrap sandbox here ({sandbox.problem()})")
    lesson, answers = "03_freezing", solution_answers("03_freezing")
    answers["freezing.q2"] = "def count_trainable(model):\n    return 0\n"  # one wrong answer
    graded = {}
    for lang in ("en", "ja"):
        nb = nbformat.read(ROOT / "notebooks" / lang / "student" / "03_freezing_student.ipynb", 4)
        for cell in nb.cells:
            meta = cell.metadata.get("vgg_course", {})
            if meta.get("role") == "answer" and meta.get("exercise") in answers:
                cell.source = answers[meta["exercise"]]
        path = tmp_path / lang / "ann" / "03_freezing_student.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        found = submissions.discover(tmp_path / lang)
        assert [f.lesson for f in found] == [lesson]  # one assignment, whichever edition
        sub = grading.grade_notebook(found[0], seed=3)
        graded[lang] = [(v["exercise"], v["score"], v["status"]) for v in sub.verdicts]
    assert graded["en"] == graded["ja"]
    scores = {e: s for e, s, _ in graded["en"]}
    assert scores["freezing.q2"] == 0 and scores["freezing.q1"] > 0
