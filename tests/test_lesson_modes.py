"""Every lesson runs to the end in every mode, not only in the one its outputs are stored in.

nbval runs each lesson in its stored mode (quick, or real with the companion). Here each
lesson also runs, in a fresh kernel, in the other modes a class meets:

- ``quick``: random practice weights, drawn images, tiny budgets;
- ``real``: the ants/bees photos and the offline SqueezeNet companion (VGG16's file absent);
- ``practice``: random VGG16 weights, said loudly;
- ``vgg16``: full mode with VGG16's weights installed, what a student who sets nothing gets
  once the class has the file. The weights are a stand-in (random VGG16 weights saved in
  torchvision's file format, under torchvision's file name); the kit accepts it only because
  the test names its SHA-256 through the test-only hook ``VGG_COURSE_TEST_WEIGHTS_SHA256``.

Practice mode runs the Japanese edition (``notebooks/ja/``: its kernel speaks Japanese), so every
lesson also runs once with every message of the kit in Japanese.

So that VGG16 trains in seconds on a CPU, the photos are a small subset of the real ones
(4 training and 2 validation photos per class). A lesson passes when every cell runs without
an error and its banner names the mode; what the text says is built from the run's numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SHARED_PHOTOS = REPO.parent / "shared" / "datasets" / "hymenoptera_data"
MODES = ("quick", "real", "practice", "vgg16")
BANNER = {"quick": "QUICK MODE", "real": "REAL MODE", "practice": "練習モード",
          "vgg16": "Full mode"}
EDITION = {"practice": "ja"}  # the edition a mode runs (else the master, in English)
PER_CLASS = {"train": 4, "val": 2}  # 07 picks 8 training photos


def _stored_mode(path: Path) -> str:
    from vgg_course import stored

    return stored.stored_mode(json.loads(path.read_text())["metadata"])


def _cases() -> list:
    cases = []
    for path in LESSONS:
        stored = _stored_mode(path)
        for mode in MODES:
            if mode != stored:  # the stored mode is nbval's
                cases.append(pytest.param(path, mode, id=f"{path.stem}-{mode}"))
    return cases


def _photos() -> Path | None:
    for path in (os.environ.get("VGG_COURSE_DATA"), SHARED_PHOTOS):
        if path and (Path(path) / "train").is_dir() and (Path(path) / "val").is_dir():
            return Path(path)
    return None


@pytest.fixture(scope="module")
def few_photos(tmp_path_factory) -> Path:
    """A few real photos per class and split, copied (and the placeholder GIF, as in the set)."""
    photos = _photos()
    if photos is None:
        pytest.skip("the ants/bees photos are not here: set VGG_COURSE_DATA to the unpacked "
                    f"hymenoptera_data folder or put them at {SHARED_PHOTOS}")
    root = tmp_path_factory.mktemp("few") / "hymenoptera_data"
    for split, count in PER_CLASS.items():
        for cls in ("ants", "bees"):
            (root / split / cls).mkdir(parents=True)
            for src in sorted((photos / split / cls).glob("*.jpg"))[:count]:
                shutil.copy(src, root / split / cls / src.name)
    return root


@pytest.fixture(scope="module")
def stand_in_weights(tmp_path_factory) -> tuple[Path, str]:
    """A TORCH_HOME holding a stand-in for VGG16's weights file, and the hook's value."""
    import torch
    from torchvision.models import vgg16

    from vgg_course import weights

    torch_home = tmp_path_factory.mktemp("torch_home")
    path = torch_home / "hub" / "checkpoints" / weights.file_name()
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(vgg16(weights=None).state_dict(), path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return torch_home, f"{sha}:{path.stat().st_size}"


def _env(mode: str, tmp: Path, photos: Path, stand_in: tuple[Path, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VGG_COURSE_")}
    env.update(PYTHONHASHSEED="0", TQDM_DISABLE="1", TORCH_HOME=str(tmp / "empty_torch_home"),
               VGG_COURSE_DIR=str(tmp), VGG_COURSE_DATA=str(photos))
    if mode == "quick":
        env.update(VGG_COURSE_QUICK="1")
        del env["VGG_COURSE_DATA"]
    elif mode == "real":
        env.update(VGG_COURSE_REAL="1")
    elif mode == "practice":
        env.update(VGG_COURSE_PRACTICE="1")
    else:  # full mode, VGG16's (stand-in) weights installed
        torch_home, hook = stand_in
        env.update(TORCH_HOME=str(torch_home), VGG_COURSE_TEST_WEIGHTS_SHA256=hook)
    return env


@pytest.mark.slow
@pytest.mark.parametrize(("path", "mode"), _cases())
def test_every_lesson_runs_to_the_end_in_every_mode(path, mode, tmp_path, few_photos, request):
    import nbformat
    from nbclient import NotebookClient

    stand_in = request.getfixturevalue("stand_in_weights") if mode == "vgg16" else None
    work = tmp_path / "course"
    work.mkdir()
    (work / "vgg-course.json").write_text("{}")
    lang = EDITION.get(mode)
    folder = work / lang if lang else work
    folder.mkdir(exist_ok=True)
    shutil.copy(path.parent / lang / path.name if lang else path, folder / path.name)
    nb = nbformat.read(folder / path.name, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute(env=_env(mode, work, few_photos, stand_in))  # CellExecutionError: the cell
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    banner = "".join(o.get("text", "") + "".join(o.get("data", {}).get("text/plain", ""))
                     for o in first_code.outputs)
    assert BANNER[mode] in banner, f"{path.name} in {mode} mode: banner {banner!r}"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", (path.name, mode, cell.source[:200])


@pytest.mark.slow
def test_the_stand_in_is_refused_without_the_hook(stand_in_weights, monkeypatch):
    from vgg_course import config, weights

    torch_home, _ = stand_in_weights
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.delenv("VGG_COURSE_TEST_WEIGHTS_SHA256", raising=False)
    weights._verified.clear()
    with config.use("full"), pytest.raises(weights.WeightsError, match="SHA-256|hash|size"):
        weights.verify_cached(weights.cache_path())
