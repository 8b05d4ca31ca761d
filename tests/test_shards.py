"""Grading past one machine (vgg_course.instructor.shards): ``grade --shard K/N`` grades a fixed
slice, ``gradebook merge`` joins 4 slices into the very files one run writes, byte for byte,
and refuses slices that are not one run's."""

from __future__ import annotations

import json

import pytest

import fake_grader
from vgg_course.__main__ import main
from vgg_course.instructor import grading, shards


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    fake_grader.install(monkeypatch, fake_grader.Concurrency(pause=0.002))
    root, tmp = tmp_path_factory.mktemp("subs"), tmp_path_factory.mktemp("runs")
    fake_grader.make_class(root, tmp / "outside")
    grading.grade(root, tmp / "whole", seed=5, workers=3)
    for k in range(1, 5):
        grading.grade(root, tmp / f"shard{k}", seed=5, workers=2, shard=(k, 4))
    monkeypatch.undo()
    return {"root": root, "tmp": tmp}


def _head(folder) -> dict:
    return json.loads((folder / shards.RESULTS).read_text().splitlines()[0])


def test_four_shards_merge_into_the_files_of_one_run_byte_for_byte(runs, capsys):
    tmp = runs["tmp"]
    folders = [str(tmp / f"shard{k}") for k in (3, 1, 4, 2)]  # any order
    assert main(["gradebook", "merge", *folders, "--out", str(tmp / "merged")]) == 0
    assert "notebooks from 4 shards" in capsys.readouterr().out
    whole, merged = fake_grader.files(tmp / "whole"), fake_grader.files(tmp / "merged")
    assert sorted(merged) == sorted(whole)
    assert {"gradebook.csv", "summary.csv", "summary.md", "results.jsonl"} <= set(whole)
    assert len([p for p in whole if p.startswith("feedback/")]) == 19
    for path in whole:
        assert merged[path] == whole[path], path


def test_a_shard_is_a_fixed_slice_with_every_notebook_of_a_student(runs):
    tmp, everyone = runs["tmp"], _head(runs["tmp"] / "whole")["ids"]
    slices = [_head(tmp / f"shard{k}")["ids"] for k in range(1, 5)]
    assert sorted(sum(slices, [])) == everyone and all(len(s) in (4, 5) for s in slices)
    assert slices[0] == everyone[0::4]  # the students at 0, 4, 8, ... in id order
    stray = [k for k in range(4) if "stray" in slices[k]]
    (k,) = stray  # both of stray's lessons are graded in that one shard
    rows = (tmp / f"shard{k + 1}" / "gradebook.csv").read_text().splitlines()
    assert sum(line.startswith("stray,") for line in rows) == 2
    assert _head(tmp / "shard2")["columns"] == _head(tmp / "whole")["columns"]  # all lessons'


def test_merge_refuses_slices_that_are_not_one_runs(runs, tmp_path):
    tmp = runs["tmp"]
    three = [tmp / f"shard{k}" for k in (1, 2, 3)]
    with pytest.raises(shards.MergeError, match="exactly once"):
        shards.merge(three, tmp_path / "a")
    with pytest.raises(shards.MergeError, match="exactly once"):
        shards.merge([*three, tmp / "shard3"], tmp_path / "b")
    with pytest.raises(shards.MergeError, match="whole run"):
        shards.merge([*three, tmp / "whole"], tmp_path / "c")
    odd = tmp_path / "odd"
    odd.mkdir()
    lines = (tmp / "shard4" / shards.RESULTS).read_text().splitlines()
    head = {**json.loads(lines[0]), "seed": 6}
    (odd / shards.RESULTS).write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    with pytest.raises(shards.MergeError, match="seed differ"):
        shards.merge([*three, odd], tmp_path / "d")
    (odd / shards.RESULTS).write_text("\n".join(lines[:-1]) + "\n")  # a shard that stopped early
    with pytest.raises(shards.MergeError, match="did that shard finish"):
        shards.merge([*three, odd], tmp_path / "e")
    assert not (tmp_path / "e").exists()
    assert main(["gradebook", "merge", str(tmp / "shard1"), "--out", str(tmp_path / "f")]) == 2


def test_a_shard_needs_a_seed_and_a_well_formed_k_of_n(runs, tmp_path, capsys):
    with pytest.raises(ValueError, match="--seed"):
        grading.grade(runs["root"], tmp_path / "g", shard=(1, 2))
    assert shards.parse("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "2", "a/b"):
        with pytest.raises(ValueError, match="--shard"):
            shards.parse(bad)
    assert main(["grade", str(runs["root"]), "--out", str(tmp_path / "h"), "--shard", "1/2"]) == 2
    assert "--shard needs --seed" in capsys.readouterr().err
    assert not (tmp_path / "h" / "gradebook.csv").exists()


@pytest.mark.slow  # 6 notebooks graded in bubblewrap sandboxes (~1 min)
def test_real_sandboxed_shards_merge_into_the_whole_runs_files(tmp_path):
    from submission_factory import solution_answers, solution_notebook, student_notebook, write
    from vgg_course.instructor import sandbox

    if sandbox.problem() is not None:
        pytest.skip(f"no bubblewrap sandbox here ({sandbox.problem()})")
    write(tmp_path / "subs", "alice", solution_notebook())
    counts_all = "def count_trainable(model):\n    return sum(p.numel() for p in model.parameters())"
    write(tmp_path / "subs", "Bob Ünal", student_notebook({**solution_answers(),
                                                          "freezing.q2": counts_all}))
    write(tmp_path / "subs", "carol", student_notebook({}))
    grading.grade(tmp_path / "subs", tmp_path / "whole", seed=9, exercise_timeout=30, workers=2)
    for k in (1, 2):
        grading.grade(tmp_path / "subs", tmp_path / f"s{k}", seed=9, exercise_timeout=30,
                      workers=2, shard=(k, 2))
    shards.merge([tmp_path / "s2", tmp_path / "s1"], tmp_path / "merged")
    whole = fake_grader.files(tmp_path / "whole")
    assert fake_grader.files(tmp_path / "merged") == whole and len(whole) == 7
    assert "that counts frozen parameters too" in whole["gradebook.csv"].decode()


def test_the_command_line_grades_the_same_shard(runs, tmp_path, monkeypatch):
    fake_grader.install(monkeypatch)
    assert main(["grade", str(runs["root"]), "--out", str(tmp_path / "cli"), "--seed", "5",
                 "--shard", "2/4", "--jobs", "1"]) == 0
    assert fake_grader.files(tmp_path / "cli") == fake_grader.files(runs["tmp"] / "shard2")
