"""scripts/course.py: the README's two commands, the same installs on Linux, macOS and Windows."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("course", REPO / "scripts" / "course.py")
course = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course)


def _readme_command(marker: str) -> str:
    text = (REPO / "README.md").read_text()
    block = text.split(f"<!-- {marker} -->", 1)[1].split("```", 2)[1]
    return [line for line in block.splitlines()[1:] if line.strip()][0]


def test_the_readme_commands_are_make_targets_that_call_the_runner():
    assert (_readme_command("setup-command"), _readme_command("test-command")) == ("make lab", "make test")
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^RUN = \$\(PYTHON\) scripts/course.py$", makefile, re.M)
    for target in ("lab", "test"):
        rule = re.search(rf"^{target}:\n\t(.+)$", makefile, re.M)
        assert rule and rule[1].startswith(f"$(RUN) {target} "), target
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_the_two_installs_are_the_students_plus_jupyterlab_and_plus_the_test_tools(tmp_path):
    env = tmp_path / ".venv"
    lab = course.install_commands(env, course.EXTRAS["lab"], cpu=False)
    test = course.install_commands(env, course.EXTRAS["test"], cpu=False)
    assert lab[-1][-2:] == ["-e", ".[lab]"] and test[-1][-2:] == ["-e", ".[lab,test,ja]"]
    assert "-e .[lab,test,ja]" in (REPO / "requirements.txt").read_text()  # the same install
    cpu = course.install_commands(env, ["lab"], cpu=True)
    assert cpu[1][-4:] == ["torch", "torchvision", "--index-url", "https://download.pytorch.org/whl/cpu"]
    assert cpu[2][-2:] == ["-e", ".[lab]"]  # after it: pip keeps the CPU build


def test_windows_and_unix_environments_and_root(monkeypatch, tmp_path):
    monkeypatch.setattr(course.os, "name", "nt")
    assert course.python_in(tmp_path) == tmp_path / "Scripts" / "python.exe"
    monkeypatch.setattr(course.os, "name", "posix")
    assert course.python_in(tmp_path) == tmp_path / "bin" / "python"
    monkeypatch.setattr(course.os, "geteuid", lambda: 0, raising=False)
    assert "--allow-root" in course.lab_command(Path("py"))
    monkeypatch.setattr(course.os, "geteuid", lambda: 1000, raising=False)
    assert "--allow-root" not in course.lab_command(Path("py"))
    monkeypatch.delattr(course.os, "geteuid", raising=False)  # Windows has none
    assert course.lab_command(Path("py"))[1:3] == ["-m", "jupyterlab"]


def test_setup_installs_once_and_again_only_when_pyproject_or_the_extras_change(monkeypatch, tmp_path):
    env = tmp_path / ".venv"
    ran: list[list[str]] = []
    monkeypatch.setattr(course, "_run", lambda cmd, **kw: ran.append([str(c) for c in cmd]))
    monkeypatch.setattr(course.venv, "EnvBuilder", lambda **kw: type(
        "B", (), {"create": lambda self, path: (course.python_in(path).parent.mkdir(parents=True),
                                                course.python_in(path).touch())})())
    course.setup(env, "lab")
    assert ran[-1][-2:] == ["-e", ".[lab]"]
    ran.clear()
    course.setup(env, "lab")
    assert ran == []  # installed, pyproject unchanged
    course.setup(env, "test")
    assert ran[-1][-2:] == ["-e", ".[lab,test,ja]"]
    assert json.loads((env / ".installed").read_text())["extras"] == ["ja", "lab", "test"]
    ran.clear()
    course.setup(env, "lab")  # the test install includes the lab one
    assert ran == []
    stamp = json.loads((env / ".installed").read_text())
    (env / ".installed").write_text(json.dumps({**stamp, "pyproject": "older"}))
    course.setup(env, "lab")
    assert ran and ran[-1][-2:] == ["-e", ".[lab]"]


def test_hub_install_makes_its_own_environment_and_registers_the_kernel(monkeypatch, tmp_path):
    ran: list[list[str]] = []
    monkeypatch.setattr(course, "_run", lambda cmd, **kw: ran.append([str(c) for c in cmd]))
    monkeypatch.setattr(course.venv, "EnvBuilder", lambda **kw: type(
        "B", (), {"create": lambda self, path: None})())
    assert course.main(["hub-install", "--venv", str(tmp_path / "opt"), "--source", "kit.whl"]) == 0
    python = str(course.python_in((tmp_path / "opt").absolute()))
    assert ran[-2] == [python, "-m", "pip", "install", "kit.whl"]  # not editable, no extras
    assert ran[-1] == [python, "-m", "vgg_course", "kernel", "--prefix", "/usr/local"]


@pytest.mark.parametrize("command", ["lab", "test", "setup", "notebooks"])
def test_every_make_target_passes_cpu_through(command):
    makefile = (REPO / "Makefile").read_text()
    rule = re.search(rf"^{command}:\n\t(.+)$", makefile, re.M)
    assert rule and "$(if $(CPU),--cpu)" in rule[1]


def test_the_quick_tier_runs_pytest_without_the_slow_marks(monkeypatch, tmp_path):
    called = []
    monkeypatch.setattr(course, "setup", lambda env, kind, cpu=False, lang="en": tmp_path / "python")
    monkeypatch.setattr(course.subprocess, "call", lambda cmd, cwd, env=None: called.append(cmd) or 0)
    assert course.main(["test", "--fast", "-q"]) == 0
    assert called[-1][1:] == ["-m", "pytest", "-m", "not slow", "-q"]
    assert course.main(["test", "tests/test_freezing.py"]) == 0
    assert called[-1][1:] == ["-m", "pytest", "tests/test_freezing.py"]  # the full suite's
    rule = re.search(r"^test-fast:\n\t(.+)$", (REPO / "Makefile").read_text(), re.M)
    assert rule and rule[1].startswith("$(RUN) test --fast ")


def _fake_installs(monkeypatch) -> list[list[str]]:
    ran: list[list[str]] = []
    monkeypatch.setattr(course, "_run", lambda cmd, **kw: ran.append([str(c) for c in cmd]))
    monkeypatch.setattr(course.venv, "EnvBuilder", lambda **kw: type(
        "B", (), {"create": lambda self, path: (course.python_in(path).parent.mkdir(parents=True),
                                                course.python_in(path).touch())})())
    return ran


def test_setup_turns_the_news_pop_up_off_in_the_environment_not_in_the_home(monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    ran = _fake_installs(monkeypatch)
    env = tmp_path / ".venv"
    course.setup(env, "lab")
    settings = course.lab_settings_file(env)
    assert json.loads(settings.read_text()) == {
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/translation-extension:plugin": {"locale": "en"}}
    assert list(home.iterdir()) == []
    settings.unlink()  # an environment set up before the kit wrote its settings
    ran.clear()
    course.setup(env, "lab")
    assert ran == [] and json.loads(settings.read_text()) == course.lab_overrides()  # no reinstall


def test_the_settings_file_is_where_this_environments_jupyterlab_reads_them_and_fits_its_schema(tmp_path):
    commands = pytest.importorskip("jupyterlab.commands")
    from jupyterlab_server.settings_utils import _get_overrides

    app_settings = Path(commands.get_app_dir()) / "settings"
    assert course.lab_settings_file(Path(sys.prefix)).parents[1] == app_settings
    # JupyterLab's own reader finds the kit's file (here written into a stand-in environment).
    written = course.write_lab_settings(tmp_path / "env")
    overrides, error = _get_overrides(str(written.parents[1]))
    assert not error and overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    schemas = {}
    for plugin, values in course.lab_overrides("ja").items():
        package, name = plugin.split(":")
        schemas[plugin] = json.loads((Path(commands.get_app_dir()) / "schemas" / package
                                      / f"{name}.json").read_text())
        assert set(values) <= set(schemas[plugin]["properties"]), plugin
    assert course.lab_overrides("ja")["@jupyterlab/translation-extension:plugin"] == {"locale": "ja_JP"}
    never = schemas["@jupyterlab/apputils-extension:notification"]["properties"]["fetchNews"]["oneOf"]
    assert {"const": "false", "title": "Never"} in never


def test_the_printed_url_is_lesson_00_and_the_kits_files_are_hidden(monkeypatch):
    args = course.lab_server_args()
    assert "--ServerApp.root_dir=." in args
    assert "--LabApp.default_url=/lab/tree/notebooks/en/00_setup_check.ipynb" in args
    assert "--LabApp.default_url=/lab/tree/notebooks/ja/00_setup_check.ipynb" in \
        course.lab_server_args(lang="ja")
    for lang in ("en", "ja"):
        assert (REPO / course.LESSON_00.format(lang=lang)).is_file()
    hidden = [arg.split("=", 1)[1] for arg in args if arg.startswith("--ContentsManager.hide_globs=")]
    manager = pytest.importorskip("jupyter_server.services.contents.manager")
    defaults = manager.ContentsManager.class_traits()["hide_globs"].default()
    assert set(defaults) < set(hidden) and "__init__.py" in hidden  # its defaults, and more
    assert course.lab_command(Path("py"))[-len(args):] == args
    called = []
    monkeypatch.setattr(course, "setup", lambda env, kind, cpu=False, lang="en": Path("py"))
    monkeypatch.setattr(course.subprocess, "call", lambda cmd, cwd, env=None: called.append((cmd, cwd)) or 0)
    assert course.main(["lab"]) == 0
    assert called == [(course.lab_command(Path("py")), course.REPO)]


def test_make_lab_lang_ja_opens_the_japanese_edition_and_a_japanese_shell_locale_does_not(monkeypatch):
    """`make lab LANG=ja` asks for the Japanese edition; LANG=ja_JP.UTF-8 in the shell (a
    Japanese laptop) is the C library's locale, not a request, and leaves `make lab` as it is."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("no make here")
    def dry(*args: str, env_lang: str | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("LANG", "MAKEFLAGS")}
        if env_lang:
            env["LANG"] = env_lang
        return subprocess.run(["make", "-n", "-C", str(REPO), *args], capture_output=True,
                              text=True, env=env, check=True).stdout
    assert "lab --venv .venv" in dry("lab", "LANG=ja") and "--lang ja" in dry("lab", "LANG=ja")
    assert "--lang" not in dry("lab") and "--lang" not in dry("lab", env_lang="ja_JP.UTF-8")
    called = []
    monkeypatch.setattr(course, "setup", lambda env, kind, cpu=False, lang="en": called.append(
        (kind, lang)) or Path("py"))
    monkeypatch.setattr(course.subprocess, "call", lambda cmd, cwd, env=None: called.append(
        (cmd, env.get("LANG"))) or 0)
    monkeypatch.setenv("LANG", "ja")  # what make puts into the environment for LANG=ja
    assert course.main(["lab", "--lang", "ja"]) == 0
    assert called[0] == ("lab-ja", "ja")
    assert called[1] == (course.lab_command(Path("py"), "ja"), None)  # no bare LANG=ja for Jupyter
