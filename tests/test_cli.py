"""The command line feels like one: help at once, in plain words, every option explained."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from vgg_course.__main__ import _COMMAND_MODULES, build_parser

REPO = Path(__file__).resolve().parents[1]
# What --help and a usage error must not wait for (seconds each, on a loaded 2-core machine).
HEAVY = ("torch", "torchvision", "numpy", "PIL", "matplotlib", "nbformat", "jsonschema",
         "ipywidgets", "ipykernel", "jupyter_client")
BOUND_SECONDS = 3.0
REST = re.compile(r"``|`|:(mod|func|class|meth|attr|data|exc):")


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(words after python -m vgg_course, parser)`` for the parser and every subcommand's."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def _run(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    return time.perf_counter() - start, done


@pytest.mark.parametrize("args, code", [(["--help"], 0), (["compare", "--help"], 0),
                                        (["no-such-command"], 2), (["compare", "--epochs", "x"], 2)])
def test_help_and_usage_errors_answer_at_once(args, code):
    seconds, done = _run("-m", "vgg_course", *args)
    assert done.returncode == code, done.stderr
    assert (done.stdout if code == 0 else done.stderr).startswith("usage: python -m vgg_course")
    assert seconds < BOUND_SECONDS, f"{' '.join(args)}: {seconds:.1f} s"


def test_help_imports_nothing_heavy():
    _, done = _run("-X", "importtime", "-m", "vgg_course", "--help")
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "vgg_course" in imported  # the log is read right: the kit itself is in it
    assert not set(HEAVY) & imported


_EVERY_HELP = """
import contextlib, io, json, sys
from vgg_course.__main__ import build_parser
for words in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        with contextlib.suppress(SystemExit):
            build_parser().parse_args(words)
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""


def test_no_command_imports_anything_heavy_for_its_help_or_a_usage_error():
    words = [[*path, "--help"] for path, _ in _parsers(build_parser())]
    words += [[*path, "--no-such-option"] for path, _ in _parsers(build_parser())]
    assert len(words) > 2 * len(_COMMAND_MODULES)  # every command, nested ones too
    _, done = _run("-c", _EVERY_HELP, json.dumps(words), json.dumps(HEAVY))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_probe_sees_a_heavy_import():
    """The check above can fail: a module that imports torch is found."""
    _, done = _run("-c", "import vgg_course.weights, sys; print('torch' in sys.modules)")
    assert done.stdout.strip() == "True"


_ALL = list(_parsers(build_parser()))
_IDS = [" ".join(path) or "top" for path, _ in _ALL]


@pytest.mark.parametrize("path, parser", _ALL, ids=_IDS)
def test_help_is_plain_words(path, parser):
    text = parser.format_help()
    assert not REST.search(text), f"reST markup in `{' '.join(path)} --help`:\n{text}"
    assert "None" not in text and "(default: False)" not in text


@pytest.mark.parametrize("path, parser", _ALL, ids=_IDS)
def test_every_option_and_argument_has_help_and_shows_its_default(path, parser):
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue  # argparse's own: no default to show
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help.strip(), f"{' '.join(path)} {name}: no help"
        for choice in getattr(action, "_choices_actions", []):
            assert choice.help, f"{' '.join(path)} {choice.dest}: no help"
        if action.default is not None and action.default is not False and action.option_strings:
            assert f"(default: {action.default})" in text or "default" in action.help, name


def test_compare_shows_the_labs_own_choices_and_defaults():
    """The compare command's parser is light, so it writes these down: they must stay the lab's."""
    from vgg_course import commands, devices, models, recipes
    from vgg_course.compare import Budget

    assert commands.LAB_MODELS == models.NAMES
    assert commands.LAB_RECIPES == tuple(recipes.RECIPES)
    assert commands.LAB_PRECISIONS == devices.PRECISIONS
    budget = {f.name: f.default for f in dataclasses.fields(Budget)}
    assert commands.LAB_DEFAULTS == {name: budget[name] for name in commands.LAB_DEFAULTS}
    args = build_parser().parse_args(["compare"])
    assert {name: getattr(args, name) for name in commands.LAB_DEFAULTS} == commands.LAB_DEFAULTS
    assert (args.image_size, args.device, args.augment) == (
        budget["image_size"], budget["device"], budget["augment"])


def test_version_says_which_build_is_installed():
    done = subprocess.run([sys.executable, "-m", "vgg_course", "--version"], capture_output=True,
                          text=True, timeout=60, cwd=tempfile.gettempdir())
    import vgg_course

    assert done.returncode == 0 and done.stdout.strip() == f"vgg_course {vgg_course.__version__}"
