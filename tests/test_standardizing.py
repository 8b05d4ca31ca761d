"""Tests for vgg_course.standardizing: streamed statistics and inputs equal the in-memory ones."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader
from torchvision.transforms import v2

import vgg_course as vc
from vgg_course import data, standardizing

# photos of several sizes and colours, decoded at 40 px and standardised at 24 px
SIZE40 = v2.Compose([v2.Resize((40, 40)), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    root = vc.datasets.practice_dataset(tmp_path_factory.mktemp("data") / "practice")
    return data.image_folders(root, train_transform=SIZE40, val_transform=SIZE40)


@pytest.mark.parametrize("image_size", [24, None])
def test_one_pass_statistics_equal_the_in_memory_ones(splits, image_size):
    train, val = splits
    kept = standardizing.standardized(data.InMemory(train), data.InMemory(val),
                                      image_size=image_size)
    streamed = standardizing.standardized(train, val, image_size=image_size)
    assert isinstance(kept[0], data.InMemory) and isinstance(streamed[0], standardizing.Standardized)
    assert streamed[2].shape == streamed[3].shape == (3,)
    torch.testing.assert_close(streamed[2], kept[2], rtol=1e-5, atol=1e-6)  # mean
    torch.testing.assert_close(streamed[3], kept[3], rtol=1e-5, atol=1e-6)  # std
    for streamed_split, kept_split in zip(streamed[:2], kept[:2]):
        assert len(streamed_split) == len(kept_split)
        x, y = next(iter(DataLoader(streamed_split, batch_size=len(streamed_split))))
        torch.testing.assert_close(x, kept_split.images, rtol=1e-4, atol=1e-4)
        assert y.tolist() == kept_split.labels.tolist()
        assert streamed_split.classes == kept_split.classes
        assert streamed_split.samples == kept_split.samples


def test_statistics_match_torch_on_random_images():
    images = [(torch.rand(3, 9, 7) * (c + 1), c % 2) for c in range(10)]
    mean, std = standardizing.channel_stats(images, batch_size=3)
    stacked = torch.stack([x for x, _ in images])
    torch.testing.assert_close(mean, stacked.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(std, stacked.std(dim=(0, 2, 3), unbiased=False))


def test_the_statistics_pass_leaves_torchs_random_state_alone(splits):
    flip = v2.Compose([v2.RandomHorizontalFlip(), SIZE40])
    train = data.image_folders(splits[0].report.root, train_transform=flip,
                               val_transform=SIZE40)[0]
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    standardizing.channel_stats(train, image_size=16)
    assert torch.equal(torch.rand(4), expected)
