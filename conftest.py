"""Pytest set-up shared by the unit tests and nbval's notebook checks.

Each lesson notebook is checked in the mode its outputs were stored in
(``vgg_course.stored.stored_mode``): quick mode, or real mode (the ants/bees photos and a
real pretrained network) for the notebooks whose point is a result. nbval starts a
notebook's kernel when its first cell is set up, with this process's environment, so the
mode's variables are set around that moment (the kernel reads them once, at its start).
Real-mode notebooks are skipped, with the reason, where the photos are not found.
"""

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
SHARED_PHOTOS = REPO.parent / "shared" / "datasets" / "hymenoptera_data"

# nbval's kernels inherit this process's environment: by default the mode
# scripts/regen_notebooks.py stores most notebooks in (quick/offline, no progress bars).
os.environ.setdefault("VGG_COURSE_QUICK", "1")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("TQDM_DISABLE", "1")

# nbval checks the bilingual master lessons (notebooks/NN_*.ipynb) once; their English and
# Japanese editions (notebooks/en/, notebooks/ja/) hold the same code cells and outputs (a
# test compares them), and student notebooks are stored without outputs (the grader tests
# run them). Grader fixtures are deliberately broken submissions. None is an nbval target.
collect_ignore_glob = ["notebooks/en/*", "notebooks/ja/*", "notebooks/student/*",
                       "tests/fixtures/*", "tests/**/fixtures/*"]

_modes: dict[Path, str] = {}


def _notebook_mode(path: Path) -> str:
    from vgg_course import stored

    if path not in _modes:
        _modes[path] = stored.stored_mode(json.loads(path.read_text()).get("metadata", {}))
    return _modes[path]


def _photos() -> Path | None:
    from vgg_course import config, stored

    # find_photos reads settings(), which refuses VGG_COURSE_QUICK (our default) beside a
    # VGG_COURSE_REAL=1 of the caller's; read the environment afresh without it, then with it.
    saved = os.environ.pop("VGG_COURSE_QUICK", None)
    config.reset()
    try:
        return stored.find_photos(SHARED_PHOTOS)
    finally:
        if saved is not None:
            os.environ["VGG_COURSE_QUICK"] = saved
        config.reset()


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects (the quick tier)
def pytest_collection_modifyitems(config, items):
    photos = None
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)  # a whole lesson in a kernel: not the quick tier
        if path.suffix != ".ipynb" or _notebook_mode(path) != "real":
            continue
        photos = photos or _photos()
        if photos is None:
            item.add_marker(pytest.mark.skip(reason=(
                f"{path.name} is stored in real mode (the ants/bees photos and a pretrained "
                f"network) and the photos are not here: set VGG_COURSE_DATA to the unpacked "
                f"hymenoptera_data folder, put them at {SHARED_PHOTOS}, or run `python -m "
                f"vgg_course data download` once")))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    path = Path(str(item.fspath))
    photos = _photos() if path.suffix == ".ipynb" and _notebook_mode(path) == "real" else None
    if photos is None:  # not a real-mode notebook, or one its skip marker will skip
        yield
        return
    from vgg_course import stored

    saved = dict(os.environ)
    for key, value in stored.kernel_env("real", photos).items():
        if value:
            os.environ[key] = value
        else:
            os.environ.pop(key, None)
    try:
        yield  # nbval starts this notebook's kernel here, with the real-mode variables
    finally:
        os.environ.clear()
        os.environ.update(saved)
