"""Fresh-install check: the built wheel, in a new environment outside the repository, runs every lesson.

Usage:
    python scripts/fresh_install_check.py [--work DIR] [--keep] [--real-install] [--commit REV]
                                          [--lessons 00_setup_check ...] [--no-nbval]

Steps, each timed:
  1. build the wheel from this checkout (offline, ``pip wheel --no-deps``);
  2. make a fresh virtual environment outside the repository. By default it borrows the
     heavy dependencies (torch, Jupyter, pytest ...) from the interpreter running this script,
     through a ``.pth`` line pointing at a folder of links to that interpreter's packages,
     without the kit (``import vgg_course`` fails there until step 3: checked). With
     ``--real-install`` it installs everything for real instead, twice: the students'
     install (``pip install WHEEL``) and the full test install (``WHEEL[lab,test]``), and
     reports the time and size of each;
  3. ``pip install`` the wheel (not editable) and check that the kit imports from the new
     environment's site-packages;
  4. ``python -m vgg_course lessons DEST`` from a working folder outside the repository, and
     check that every lesson has its student copy under a name of its own
     (``DEST/student/NN_name_student.ipynb``: two tabs never share a title);
  5. run every lesson from DEST in quick mode (nbclient, a kernel of the new environment)
     and check that data and results were written under DEST and nothing into the package;
  6. nbval over DEST, each lesson in its stored mode (real-mode lessons need the ants/bees
     photos: ``VGG_COURSE_DATA``, or ``../shared/datasets/hymenoptera_data``; else skipped).

The helpers are also used by tests/test_colab.py and tests/test_fresh_install.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_PHOTOS = REPO.parent / "shared" / "datasets" / "hymenoptera_data"
_NOT_BORROWED = ("vgg_course", "__editable__", "pip", "_distutils_hack", "distutils-precedence")


def export_commit(rev: str, dest: Path) -> Path:
    """The files of commit ``rev`` (``git archive``) in ``dest``: a build without anyone's
    uncommitted changes."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def build_wheel(out_dir: Path, source: Path = REPO) -> Path:
    """The kit's wheel, built offline from ``source`` (this checkout) into ``out_dir``.

    setuptools builds in a fresh folder, not the checkout's ``build/``: it never removes a file
    from ``build/lib``, so a renamed or deleted lesson would ship under its old name too.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vgg-build-") as tmp:
        extra = Path(tmp) / "setup.cfg"  # distutils reads it as one more setup.cfg
        extra.write_text(f"[build]\nbuild_base = {Path(tmp) / 'build'}\n", encoding="utf-8")
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--no-index", "--quiet", "--wheel-dir", str(out_dir), str(source)],
                       check=True, cwd=out_dir, env={**os.environ, "DIST_EXTRA_CONFIG": str(extra)})
    return max(out_dir.glob("vgg_course-*.whl"), key=lambda p: p.stat().st_mtime)


def bin_dir(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin")


def python_of(env: Path) -> Path:
    return bin_dir(env) / ("python.exe" if os.name == "nt" else "python")


def site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def fresh_venv(env: Path, *, borrow: bool) -> Path:
    """A new virtual environment with pip; with ``borrow``, this interpreter's packages
    (except the kit and pip) are visible in it through a ``.pth`` line. Returns its python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    python = python_of(env)
    if borrow:
        mine = Path(sysconfig.get_path("purelib"))
        links = env.parent / f"{env.name}-borrowed"
        shutil.rmtree(links, ignore_errors=True)
        links.mkdir(parents=True)
        for entry in mine.iterdir():
            if not entry.name.startswith(_NOT_BORROWED) and entry.suffix != ".pth":
                (links / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        (site_packages(python) / "_borrowed_packages.pth").write_text(f"{links}\n")
    return python


def kit_location(python: Path, cwd: Path) -> str | None:
    """Where ``python`` imports ``vgg_course`` from (run in ``cwd``), or None if it cannot."""
    out = subprocess.run([str(python), "-c", "import importlib.util as u; s = u.find_spec('vgg_course'); "
                          "print(s.origin if s else '')"],
                         capture_output=True, text=True, check=True, cwd=cwd)
    return out.stdout.strip() or None


def pip_install(python: Path, requirement: str, *, cwd: Path) -> float:
    start = time.monotonic()
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", requirement], check=True, cwd=cwd)
    return time.monotonic() - start


def folder_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())
    return total / 2**20


_RUN_LESSONS = r'''
import json, os, sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from vgg_course import stored
dest, names = Path(sys.argv[1]), sys.argv[2:]
os.environ.update({k: v for k, v in stored.kernel_env("quick").items() if v})
os.environ.pop("VGG_COURSE_REAL", None)
times = {}
for name in names:
    path = dest / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    NotebookClient(nb, kernel_name="vgg-course", timeout=600,
                   resources={"metadata": {"path": str(dest)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, (name, errors)
    times[name] = round(time.monotonic() - start, 1)
print(json.dumps(times))
'''


def run_lessons(python: Path, dest: Path, names: list[str], jupyter: Path) -> dict[str, float]:
    """Execute lessons from ``dest`` in quick mode with a kernel of ``python``'s environment;
    the kernel spec goes to ``jupyter`` (``python -m vgg_course kernel --prefix``)."""
    subprocess.run([str(python), "-m", "vgg_course", "kernel", "--prefix", str(jupyter)],
                   check=True, cwd=dest, capture_output=True)
    env = {**_clean_env(), "JUPYTER_PATH": str(jupyter / "share" / "jupyter")}
    out = subprocess.run([str(python), "-c", _RUN_LESSONS, str(dest), *names], env=env,
                         cwd=dest, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"a lesson failed from {dest}:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _clean_env() -> dict[str, str]:
    """This environment without the kit's settings (the course folder decides where files go)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("VGG_COURSE_", "PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_"))}


def run_nbval(python: Path, dest: Path, photos: Path | None) -> tuple[int, str]:
    """nbval over the lessons in ``dest``, each in its stored mode; returns (exit code, summary)."""
    from vgg_course import stored  # this checkout's: only to read the stored modes

    by_mode: dict[str, list[str]] = {"quick": [], "real": []}
    for path in sorted(dest.glob("[0-9][0-9]_*.ipynb")):
        by_mode[stored.stored_mode(json.loads(path.read_text())["metadata"])].append(path.name)
    code, lines = 0, []
    for mode, names in by_mode.items():
        if not names:
            continue
        if mode == "real" and photos is None:
            lines.append(f"real mode: {len(names)} skipped (no ants/bees photos): {', '.join(names)}")
            continue
        env = _clean_env()
        for key, value in stored.kernel_env(mode, photos if mode == "real" else None).items():
            env.pop(key, None) if not value else env.__setitem__(key, value)
        done = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull,
             "--rootdir", str(dest), "--nbval", "--nbval-current-env", "--nbval-sanitize-with",
             str(dest / "sanitize.cfg"), "--nbval-cell-timeout=600", *names],
            cwd=dest, env=env, capture_output=True, text=True)
        code = code or done.returncode
        lines.append(f"{mode} mode: {done.stdout.strip().splitlines()[-1] if done.stdout else done.stderr[-500:]}")
        if done.returncode != 0:
            lines.append(done.stdout[-3000:])
    return code, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, help="working folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--real-install", action="store_true",
                        help="install every dependency for real and measure both installs")
    parser.add_argument("--lessons", nargs="*", help="lesson names to run (default: all)")
    parser.add_argument("--no-nbval", action="store_true", help="skip the nbval step")
    parser.add_argument("--commit", metavar="REV",
                        help="build from this commit (git archive) instead of the working tree")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="vgg-fresh-"))
    work.mkdir(parents=True, exist_ok=True)
    assert REPO not in work.resolve().parents, "the check must run outside the repository"
    report: list[str] = []

    def step(text: str) -> None:
        print(text, flush=True)
        report.append(text)

    try:
        t = time.monotonic()
        source = export_commit(args.commit, work / "source") if args.commit else REPO
        wheel = build_wheel(work / "dist", source)
        step(f"wheel: {wheel.name} ({'commit ' + args.commit if args.commit else 'working tree'}), {wheel.stat().st_size / 2**20:.1f} MB, built in {time.monotonic() - t:.0f} s")
        if args.real_install:
            for label, extra in (("students' install", ""), ("full test install", "[lab,test]")):
                env = work / ("venv-students" if not extra else "venv-test")
                python = fresh_venv(env, borrow=False)
                seconds = pip_install(python, f"{wheel}{extra}", cwd=work)
                step(f"{label} (pip install {wheel.name}{extra}): {seconds:.0f} s, "
                     f"environment {folder_mb(env):,.0f} MB")
            python = python_of(work / "venv-test")
        else:
            python = fresh_venv(work / "venv", borrow=True)
            assert kit_location(python, work) is None, "the fresh environment already has the kit"
            seconds = pip_install(python, str(wheel), cwd=work)
            step(f"fresh environment (dependencies borrowed): pip install the wheel in {seconds:.0f} s")
        where = kit_location(python, work)
        assert where and Path(where).is_relative_to(site_packages(python)), where
        step(f"the kit imports from {Path(where).parent}")
        dest = work / "my course"
        done = subprocess.run([str(python), "-m", "vgg_course", "lessons", str(dest)],
                              cwd=work, capture_output=True, text=True, check=True)
        step(f"python -m vgg_course lessons '{dest}': {done.stdout.count('copied:')} files copied")
        lessons = sorted(p.name for p in dest.glob("[0-9][0-9]_*.ipynb"))
        students = sorted(p.name for p in dest.glob("student/[0-9][0-9]_*.ipynb"))
        assert students == [f"{Path(n).stem}_student.ipynb" for n in lessons], (lessons, students)
        names = args.lessons or sorted(p.stem for p in dest.glob("[0-9][0-9]_*.ipynb"))
        before = {p: p.stat().st_mtime for p in Path(where).parent.rglob("*") if "__pycache__" not in p.parts}
        t = time.monotonic()
        times = run_lessons(python, dest, names, work / "jupyter")
        step(f"{len(times)} lessons run from DEST in quick mode in {time.monotonic() - t:.0f} s, "
             f"no error: " + ", ".join(f"{n} {s} s" for n, s in times.items()))
        after = {p: p.stat().st_mtime for p in Path(where).parent.rglob("*") if "__pycache__" not in p.parts}
        assert after == before, "a lesson wrote into the installed package"
        folders = sorted(p.name + "/" for p in dest.iterdir() if p.is_dir())
        step(f"DEST now holds {', '.join(folders)} besides the notebooks; nothing was written "
             "into the installed package")
        if not args.no_nbval:
            photos = Path(os.environ["VGG_COURSE_DATA"]) if os.environ.get("VGG_COURSE_DATA") else (
                SHARED_PHOTOS if (SHARED_PHOTOS / "train").is_dir() else None)
            t = time.monotonic()
            code, summary = run_nbval(python, dest, photos)
            step(f"nbval over DEST ({time.monotonic() - t:.0f} s):\n{summary}")
            if code:
                return code
        return 0
    finally:
        print("\n".join(["", "summary:", *report]))
        if args.keep or args.work:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
