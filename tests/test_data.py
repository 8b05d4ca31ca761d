"""Tests for vgg_course.folders and vgg_course.data: folder checks, ImageFolder datasets, transforms, loaders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision.datasets import ImageFolder
from torchvision.models import VGG16_Weights
from torchvision.transforms._presets import ImageClassification

import vgg_course as vc
from vgg_course import data, folders

WEIGHTS = VGG16_Weights.IMAGENET1K_V1


def _images(folder: Path, n: int, colour=(200, 30, 30), size=(40, 30)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", size, colour).save(folder / f"img_{i}.jpg", quality=95)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """root/train/{cats,dogs} with 4 images each, root/val/{cats,dogs} with 2 each."""
    root = tmp_path / "pets"
    for split, n in (("train", 4), ("val", 2)):
        _images(root / split / "cats", n, (200, 30, 30))
        _images(root / split / "dogs", n, (30, 30, 200))
    return root


def _corrupt_jpeg(path: Path) -> None:
    Image.new("RGB", (64, 64), (10, 200, 10)).save(path, quality=95)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])  # a half-copied photo: header fine, data cut


def _no_transform_folders(root: Path, **kw):
    return data.image_folders(root, train_transform=None, val_transform=None, **kw)


# ---------------------------------------------------------------- validation


def test_clean_folder_counts_and_ready(folder: Path):
    report = folders.validate_folder(folder)
    assert report.ok and report.skipped == []
    assert report.classes == ["cats", "dogs"]
    assert report.counts == {"train": {"cats": 4, "dogs": 4}, "val": {"cats": 2, "dogs": 2}}


def test_datasets_match_torchvision_imagefolder(folder: Path):
    train_ds, val_ds = _no_transform_folders(folder)
    for ds, split in ((train_ds, "train"), (val_ds, "val")):
        oracle = ImageFolder(str(folder / split))
        assert isinstance(ds, ImageFolder)
        assert ds.samples == oracle.samples and ds.class_to_idx == oracle.class_to_idx


def test_corrupt_jpeg_is_skipped_by_name_and_loader_runs(folder: Path):
    _corrupt_jpeg(folder / "train" / "cats" / "broken.jpg")
    (folder / "val" / "dogs" / "notes.jpg").write_text("not a photo")
    report = folders.validate_folder(folder)
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons.keys() == {"train/cats/broken.jpg", "val/dogs/notes.jpg"}
    assert "truncated" in reasons["train/cats/broken.jpg"]
    assert "cannot be read as an image" in reasons["val/dogs/notes.jpg"]
    assert report.ok and report.counts["train"]["cats"] == 4
    train_ds, val_ds = data.image_folders(folder, train_transform=data.eval_transform(WEIGHTS, image_size=32),
                                          val_transform=data.eval_transform(WEIGHTS, image_size=32))
    train_loader, val_loader = data.make_loaders(train_ds, val_ds, batch_size=3, num_workers=1)
    assert sum(len(y) for _, y in train_loader) == 8 and sum(len(y) for _, y in val_loader) == 4


def test_the_same_corrupt_folder_crashes_plain_imagefolder(folder: Path):
    """The oracle for the test above: without validation the bad file reaches the loader."""
    _corrupt_jpeg(folder / "train" / "cats" / "broken.jpg")
    ds = ImageFolder(str(folder / "train"), transform=data.eval_transform(WEIGHTS, image_size=32))
    with pytest.raises(OSError, match="(?i)truncated"):
        [ds[i] for i in range(len(ds))]


def test_strict_mode_refuses_skipped_files(folder: Path):
    _corrupt_jpeg(folder / "train" / "dogs" / "broken.jpg")
    with pytest.raises(folders.DataError, match="train/dogs/broken.jpg: corrupt or truncated .*strict"):
        _no_transform_folders(folder, strict=True)


def test_hidden_files_and_folders_are_not_classes(folder: Path):
    (folder / "train" / ".ipynb_checkpoints").mkdir()
    (folder / "train" / "cats" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    train_ds, _ = _no_transform_folders(folder)
    assert train_ds.classes == ["cats", "dogs"] and len(train_ds) == 8
    assert [(s.path, s.reason) for s in train_ds.report.skipped] == [("train/cats/.DS_Store", "hidden file")]


def test_empty_class_folder_is_an_error(folder: Path):
    for f in (folder / "train" / "dogs").iterdir():
        f.unlink()
    with pytest.raises(folders.DataError, match="train/dogs/ has no usable images"):
        _no_transform_folders(folder)


def test_class_of_only_bad_files_is_an_error(folder: Path):
    for f in (folder / "val" / "cats").iterdir():
        f.write_text("zero bytes of photo")
    with pytest.raises(folders.DataError, match="val/cats/ has no usable images"):
        _no_transform_folders(folder)


def test_one_class_is_an_error(tmp_path: Path):
    for split in ("train", "val"):
        _images(tmp_path / split / "cats", 2)
    with pytest.raises(folders.DataError, match="only one class \\('cats'\\)"):
        _no_transform_folders(tmp_path)


def test_val_class_missing_from_train_is_an_error(folder: Path):
    _images(folder / "val" / "birds", 2)
    with pytest.raises(folders.DataError, match="val/ has class\\(es\\) \\['birds'\\] that train/ lacks"):
        _no_transform_folders(folder)


def test_train_class_missing_from_val_is_an_error(folder: Path):
    _images(folder / "train" / "birds", 2)
    with pytest.raises(folders.DataError, match="val/ has no folder for class\\(es\\) \\['birds'\\]"):
        _no_transform_folders(folder)


@pytest.mark.parametrize("missing", ["train", "val"])
def test_missing_split_is_an_error_with_a_hint(folder: Path, missing: str):
    for f in (folder / missing).rglob("*.jpg"):
        f.unlink()
    for d in sorted((folder / missing).rglob("*"), reverse=True):
        d.rmdir()
    (folder / missing).rmdir()
    with pytest.raises(folders.DataError, match=f"has no {missing}/ folder.*val_fraction=0.2"):
        _no_transform_folders(folder)


def test_nonexistent_path_is_an_error(tmp_path: Path):
    with pytest.raises(folders.DataError, match="does not exist"):
        _no_transform_folders(tmp_path / "nowhere")
    (tmp_path / "file.zip").write_bytes(b"PK")
    with pytest.raises(folders.DataError, match="is a file, not a folder"):
        _no_transform_folders(tmp_path / "file.zip")


# ---------------------------------------------------------------- one folder, split by seed


@pytest.fixture()
def flat(tmp_path: Path) -> Path:
    _images(tmp_path / "flat" / "cats", 10, (200, 30, 30))
    _images(tmp_path / "flat" / "dogs", 5, (30, 30, 200))
    return tmp_path / "flat"


def test_one_folder_split_is_seeded_stratified_and_disjoint(flat: Path):
    train_ds, val_ds = _no_transform_folders(flat, val_fraction=0.2, seed=1)
    again, again_val = _no_transform_folders(flat, val_fraction=0.2, seed=1)
    other, _ = _no_transform_folders(flat, val_fraction=0.2, seed=2)
    assert train_ds.samples == again.samples and val_ds.samples == again_val.samples
    assert train_ds.samples != other.samples
    assert not set(train_ds.samples) & set(val_ds.samples)
    assert sorted(train_ds.samples + val_ds.samples) == sorted(ImageFolder(str(flat)).samples)
    assert val_ds.report.counts["val"] == {"cats": 2, "dogs": 1}
    assert train_ds.classes == val_ds.classes == ["cats", "dogs"]


def test_one_folder_split_errors(flat: Path, folder: Path):
    with pytest.raises(folders.DataError, match="between 0 and 1"):
        _no_transform_folders(flat, val_fraction=1.5)
    with pytest.raises(folders.DataError, match="already has train/ and val/"):
        _no_transform_folders(folder, val_fraction=0.2)
    for f in list((flat / "dogs").iterdir())[1:]:
        f.unlink()
    with pytest.raises(folders.DataError, match="dogs/ has a single usable image"):
        _no_transform_folders(flat, val_fraction=0.2)


# ---------------------------------------------------------------- the report in a cell


def test_report_text_and_html(folder: Path):
    (folder / "train" / "cats" / "readme.txt").write_text("hi")
    report = folders.validate_folder(folder)
    text = repr(report)
    assert text.splitlines()[1:5] == [
        "split  cats  dogs  total",
        "train     4     4      8",
        "val       2     2      4",
        "Skipped 1 file(s):",
    ]
    assert "train/cats/readme.txt: '.txt' is not a file type ImageFolder loads" in text
    assert text.endswith("No problems: ready to train.")
    assert "<code>train/cats/readme.txt</code>" in report._repr_html_()
    for i in range(25):
        (folder / "train" / "cats" / f"junk{i:02d}.txt").write_text("x")
    many = folders.validate_folder(folder)
    assert len(many.skipped) == 26 and "... and 6 more (see report.skipped)" in repr(many)
    assert "... and 6 more" in many._repr_html_()
    for f in (folder / "val" / "dogs").iterdir():
        f.unlink()
    assert "Problems (fix these before training):\n  - val/dogs/ has no usable images" in repr(
        folders.validate_folder(folder))


# ---------------------------------------------------------------- the real photos


def test_photos_skip_the_gif_placeholder(photos_dir: Path):
    report = folders.validate_folder(photos_dir)
    assert report.ok
    assert report.counts == {"train": {"ants": 123, "bees": 121}, "val": {"ants": 70, "bees": 83}}
    assert [s.path for s in report.skipped] == ["train/ants/imageNotFound.gif"]
    assert "'.gif' is not a file type ImageFolder loads" in report.skipped[0].reason
    train_ds, val_ds = _no_transform_folders(photos_dir)
    assert (len(train_ds), len(val_ds)) == (244, 153)
    # torchvision agrees (the kit resolves the folder it is given: a symlinked ../shared too)
    assert train_ds.samples == ImageFolder(str((photos_dir / "train").resolve())).samples


# ---------------------------------------------------------------- transforms


def _constant_image(colour=(255, 128, 0), size=(90, 70)) -> Image.Image:
    return Image.new("RGB", size, colour)


def test_eval_transform_is_the_weights_own():
    t = data.eval_transform(WEIGHTS)
    assert isinstance(t, ImageClassification)
    img = Image.effect_noise((120, 100), 40).convert("RGB")
    assert torch.equal(t(img), WEIGHTS.transforms()(img))


def test_small_eval_transform_keeps_the_weights_normalization():
    preset = WEIGHTS.transforms()
    out = data.eval_transform(WEIGHTS, image_size=64)(_constant_image())
    expected = (torch.tensor([255, 128, 0]) / 255 - torch.tensor(preset.mean)) / torch.tensor(preset.std)
    assert out.shape == (3, 64, 64)
    torch.testing.assert_close(out[:, 32, 32], expected)


def test_train_transform_takes_crop_mean_std_from_the_preset():
    preset = ImageClassification(crop_size=48, resize_size=56, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 0.125))
    torch.manual_seed(0)
    out = data.train_transform(preset)(_constant_image())
    assert out.shape == (3, 48, 48)
    expected = (torch.tensor([255, 128, 0]) / 255 - torch.tensor([0.1, 0.2, 0.3])) / torch.tensor([0.5, 0.25, 0.125])
    torch.testing.assert_close(out[:, 24, 24], expected)
    assert data.train_transform(WEIGHTS)(_constant_image()).shape == (3, 224, 224)
    assert data.train_transform(WEIGHTS, image_size=64)(_constant_image()).shape == (3, 64, 64)


def test_train_transform_augments_and_augment_false_is_eval():
    img = Image.effect_noise((120, 100), 60).convert("RGB")
    t = data.train_transform(WEIGHTS, image_size=32)
    torch.manual_seed(0)
    assert not torch.equal(t(img), t(img))  # random crops and flips
    plain = data.train_transform(WEIGHTS, augment=False, image_size=32)
    assert torch.equal(plain(img), data.eval_transform(WEIGHTS, image_size=32)(img))


def test_custom_weights_transforms_are_used():
    companion = vc.companion.WEIGHTS
    train = data.train_transform(companion)
    assert train.train_mode and not data.train_transform(companion, augment=False).train_mode
    assert data.eval_transform(companion).train_mode is False
    with pytest.raises(TypeError, match="image_size is not supported"):
        data.train_transform(companion, image_size=64)
    with pytest.raises(TypeError, match="Pass your own transform"):
        data.train_transform(lambda x: x)


# ---------------------------------------------------------------- loaders


def test_loader_settings_per_device(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert data.loader_settings("cpu") == {"num_workers": 0, "pin_memory": False, "persistent_workers": False}
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    cuda = data.loader_settings("cuda")
    assert cuda["pin_memory"] and cuda["persistent_workers"] and cuda["num_workers"] == 8
    assert data.loader_settings(torch.device("cuda", 0), num_workers=0)["persistent_workers"] is False


def test_same_seed_same_batches(tmp_path: Path):
    root = vc.datasets.practice_dataset(tmp_path / "p")
    t = data.train_transform(WEIGHTS, image_size=32)
    train_ds, val_ds = data.image_folders(root, train_transform=t, val_transform=t)

    def first_batches(seed: int, workers: int) -> list[torch.Tensor]:
        torch.manual_seed(123)  # with 0 workers the augmentation uses the global generator
        loader, _ = data.make_loaders(train_ds, val_ds, batch_size=16, seed=seed, num_workers=workers)
        batches = []
        for x, y in loader:
            batches += [x, y]
            if len(batches) == 4:
                return batches

    for workers in (0, 1):
        a, b = first_batches(7, workers), first_batches(7, workers)
        assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(first_batches(7, 0)[1], first_batches(8, 0)[1])


def test_val_loader_keeps_order_and_batch_size_checked(folder: Path):
    train_ds, val_ds = _no_transform_folders(folder)
    train_ds.transform = val_ds.transform = data.eval_transform(WEIGHTS, image_size=16)
    _, val_loader = data.make_loaders(train_ds, val_ds, batch_size=3)
    assert torch.cat([y for _, y in val_loader]).tolist() == val_ds.targets
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        data.make_loaders(train_ds, val_ds, batch_size=0)
