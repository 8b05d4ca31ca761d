"""Fixtures shared by the unit tests."""

from __future__ import annotations

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
def real_vgg16() -> torch.nn.Module:
    """The real torchvision VGG16 with random weights (built once per session, ~4 s)."""
    from torchvision.models import vgg16

    torch.manual_seed(0)
    return vgg16(weights=None)
