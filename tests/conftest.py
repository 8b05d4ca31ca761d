"""Fixtures shared by the unit tests."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_PHOTOS = REPO.parent / "shared" / "datasets" / "hymenoptera_data"


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """The ants/bees photos: ``VGG_COURSE_DATA``, else ``../shared/datasets``; skip if absent."""
    configured = os.environ.get("VGG_COURSE_DATA")
    path = Path(configured) if configured else SHARED_PHOTOS
    if not (path / "train").is_dir() or not (path / "val").is_dir():
        pytest.skip(f"the ants/bees photos are not at {path} (set VGG_COURSE_DATA to the "
                    "unpacked hymenoptera_data folder to run this test)")
    return path


@pytest.fixture(scope="session")
def _vgg16_template() -> torch.nn.Module:
    from torchvision.models import vgg16

    torch.manual_seed(0)
    return vgg16(weights=None)  # ~4 s, once per session


@pytest.fixture()
def real_vgg16(_vgg16_template: torch.nn.Module) -> torch.nn.Module:
    """A fresh copy of the real torchvision VGG16 with random weights; mutate it freely."""
    return copy.deepcopy(_vgg16_template)


@pytest.fixture()
def one_thread():
    """Run a test single-threaded: tiny models gain nothing from threads, and OpenMP
    threads spin badly on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def fresh_settings():
    """Each test starts from its own environment: ``vc.config`` reads it once, so forget what
    was read (and any ``use()``) before and after every test; its first ``settings()`` reads it."""
    from vgg_course import config

    config.reset()
    yield
    config.reset()
