"""Set up, open and test the course on Linux, macOS and Windows: one runner, standard library only.

Usage (``python3`` on Linux and macOS, ``py`` on Windows):
    python3 scripts/course.py lab          # set up .venv (first time only), open JupyterLab on lesson 00
    python3 scripts/course.py lab --lang ja  # the Japanese edition, JupyterLab in Japanese
    python3 scripts/course.py test [ARGS]  # set up .venv with the test tools, run pytest ARGS
    python3 scripts/course.py test --fast  # the quick tier: everything not marked slow (~3 min)
    python3 scripts/course.py setup [--test]
    python3 scripts/course.py notebooks    # re-run every lesson and store its outputs
    sudo python3 scripts/course.py hub-install [--venv /opt/vgg-course] [--prefix /usr/local]
                                               [--source WHEEL-OR-URL] [--cpu]

``make lab`` and ``make test`` call this. The virtual environment is ``.venv`` in the
repository (``--venv`` to change it); the kit is installed editable from this checkout:
``.[lab]`` for the lessons (the students' install plus JupyterLab), ``.[lab,test]`` for the
tests. ``--cpu`` first installs PyTorch's CPU-only build (``--index-url
https://download.pytorch.org/whl/cpu``): on Linux the default build carries CUDA, several GB
a laptop without an NVIDIA GPU does not need (macOS and Windows builds are CPU/MPS anyway).
An install is redone only when pyproject.toml changed since (``.venv/.installed``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# what each kind of set-up installs; `ja`: JupyterLab's Japanese language pack (`lab --lang ja`,
# and the tests, whose browser test opens the Japanese edition in a Japanese JupyterLab)
EXTRAS = {"lab": ["lab"], "lab-ja": ["lab", "ja"], "test": ["lab", "test", "ja"]}
STAMP = ".installed"
FAST = ("-m", "not slow")  # the quick tier (`make test-fast`): pyproject.toml says what is slow
LANGS = ("en", "ja")
LESSON_00 = "notebooks/{lang}/00_setup_check.ipynb"  # the edition's first lesson
UI_LOCALE = {"en": "en", "ja": "ja_JP"}  # JupyterLab's interface language for each edition
# jupyter_server's ContentsManager.hide_globs defaults, plus what only the kit's packaging uses
# (`notebooks/__init__.py` ships the folder as `vgg_course.lessons`; nothing for a student).
HIDE_GLOBS = ("__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*~", "__init__.py", "*.egg-info")
# JupyterLab settings for the course's environment: no "get notified about official Jupyter
# news?" pop-up on a student's first page, no update checks.
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification":
                 {"fetchNews": "false", "checkForUpdates": False}}


def python_in(env: Path) -> Path:
    """The environment's interpreter: ``Scripts\\python.exe`` on Windows, ``bin/python`` elsewhere."""
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: list[str | Path], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def _wanted(extras: list[str]) -> dict:
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    return {"extras": sorted(extras), "pyproject": digest}


def _installed(env: Path) -> dict:
    try:
        return json.loads((env / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def install_commands(env: Path, extras: list[str], *, cpu: bool, editable: bool = True,
                     source: str | None = None) -> list[list[str]]:
    """The pip commands that set up ``env`` (its interpreter runs them)."""
    python = str(python_in(env))
    target = f"{source or '.'}[{','.join(extras)}]" if extras else (source or ".")
    commands = [[python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"]]
    if cpu:
        commands.append([python, "-m", "pip", "install", "torch", "torchvision",
                         "--index-url", CPU_INDEX])
    commands.append([python, "-m", "pip", "install", *(["-e"] if editable else []), target])
    return commands


def setup(env: Path, kind: str, *, cpu: bool = False, lang: str = "en") -> Path:
    """Create ``env`` if needed, install the kit with the extras ``kind`` needs, and write
    the course's JupyterLab settings there (also into an environment installed before)."""
    extras = EXTRAS[kind]
    have = _installed(env)
    if not (python_in(env).exists() and have.get("pyproject") == _wanted(extras)["pyproject"]
            and set(extras) <= set(have.get("extras", []))):
        if not python_in(env).exists():
            print(f"creating the virtual environment {env}", flush=True)
            venv.EnvBuilder(with_pip=True).create(env)
        for command in install_commands(env, extras, cpu=cpu):
            _run(command, cwd=REPO)
        (env / STAMP).write_text(json.dumps(_wanted(sorted(set(extras) | set(have.get("extras", []))))),
                                 encoding="utf-8")
    write_lab_settings(env, lang)
    return python_in(env)


def lab_settings_file(env: Path) -> Path:
    """Where ``env``'s JupyterLab reads the kit's default settings: a file of its own in
    ``overrides.d`` of the environment's app settings (``sys.prefix/share/jupyter/lab/settings``),
    beside any ``overrides.json`` an instructor wrote; never the user's home."""
    return env / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "vgg-course.json"


def lab_overrides(lang: str = "en") -> dict:
    """:data:`LAB_OVERRIDES` with JupyterLab's interface language for the edition ``lang``."""
    return {**LAB_OVERRIDES,
            "@jupyterlab/translation-extension:plugin": {"locale": UI_LOCALE[lang]}}


def write_lab_settings(env: Path, lang: str = "en") -> Path:
    """Write :func:`lab_overrides` into ``env``'s JupyterLab settings; returns the file."""
    path = lab_settings_file(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lab_overrides(lang), indent=2) + "\n", encoding="utf-8")
    return path


def lab_server_args(root_dir: str | Path = ".", lang: str = "en") -> list[str]:
    """The server options of ``make lab`` (the browser test starts its server with them too):
    rooted at ``root_dir`` (the repository: data/ and results/ beside notebooks/), landing on
    lesson 00 of the ``lang`` edition (the URL printed in the terminal is that page), the kit's
    own files hidden."""
    return [f"--ServerApp.root_dir={root_dir}",
            f"--LabApp.default_url=/lab/tree/{LESSON_00.format(lang=lang)}",
            *(f"--ContentsManager.hide_globs={glob}" for glob in HIDE_GLOBS)]


def lab_command(python: Path, lang: str = "en") -> list[str]:
    """JupyterLab on lesson 00 of the ``lang`` edition, rooted at the repository (run it from
    there)."""
    root = hasattr(os, "geteuid") and os.geteuid() == 0  # Jupyter refuses root without this
    return [str(python), "-m", "jupyterlab", *(["--allow-root"] if root else []),
            *lab_server_args(lang=lang)]


def child_env() -> dict[str, str]:
    """This environment for JupyterLab, without a bare ``LANG=ja`` (``make lab LANG=ja`` puts
    the make variable into the environment too; it names no locale the C library knows)."""
    env = dict(os.environ)
    if env.get("LANG", "").strip() in LANGS:
        env.pop("LANG")
    return env


def hub_install(env: Path, *, source: str, prefix: str, cpu: bool) -> None:
    """The kit for every user of a JupyterHub: its own environment, and the kernel
    ``vgg-course`` registered under ``prefix`` (``/usr/local``: every Jupyter on the machine)."""
    if not python_in(env).exists():
        venv.EnvBuilder(with_pip=True).create(env)
    for command in install_commands(env, [], cpu=cpu, editable=False, source=source):
        _run(command, cwd=REPO)
    _run([python_in(env), "-m", "vgg_course", "kernel", "--prefix", prefix], cwd=REPO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("setup", "create the environment and install the kit"),
                       ("lab", "set up (first time only) and open the course in JupyterLab"),
                       ("test", "set up with the test tools and run pytest"),
                       ("notebooks", "re-run every lesson in its stored mode, store outputs"),
                       ("hub-install", "install the kit and the vgg-course kernel for all users")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--cpu", action="store_true",
                             help="install PyTorch's CPU-only build first (no CUDA download)")
        hub = name == "hub-install"
        command.add_argument("--venv", type=Path,
                             default=Path("/opt/vgg-course") if hub else REPO / ".venv",
                             help=f"the environment (default: {'/opt/vgg-course' if hub else '.venv'})")
        if name == "setup":
            command.add_argument("--test", action="store_true", help="also the test tools")
        if name in ("setup", "lab"):
            command.add_argument("--lang", choices=LANGS, default="en",
                                 help="the edition: en (English) or ja (日本語: JupyterLab in "
                                      "Japanese, opens notebooks/ja/)")
        if name == "test":
            command.add_argument("--fast", action="store_true",
                                 help="the quick tier: skip tests marked slow (the lesson "
                                      "notebooks, the real VGG16, training, sandboxed classes)")
        if name == "hub-install":
            command.add_argument("--source", default=str(REPO),
                                 help="a wheel, a git URL or a folder (default: this checkout)")
            command.add_argument("--prefix", default="/usr/local",
                                 help="where the kernel spec goes: PREFIX/share/jupyter/kernels")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("test", "notebooks"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    env = args.venv.absolute()
    try:
        if args.command == "hub-install":
            hub_install(env, source=args.source, prefix=args.prefix, cpu=args.cpu)
            return 0
        lang = getattr(args, "lang", "en")
        kind = ("test" if args.command in ("test", "notebooks") or getattr(args, "test", False)
                else "lab-ja" if lang == "ja" else "lab")
        python = setup(env, kind, cpu=args.cpu, lang=lang)
        if args.command == "lab":
            return subprocess.call(lab_command(python, lang), cwd=REPO, env=child_env())
        if args.command == "test":
            return subprocess.call([str(python), "-m", "pytest", *FAST * args.fast, *rest], cwd=REPO)
        if args.command == "notebooks":
            return subprocess.call([str(python), "scripts/regen_notebooks.py", *rest], cwd=REPO)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(map(str, exc.cmd))} failed with exit status {exc.returncode}",
              file=sys.stderr)
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
