"""Int8 copies of a frozen prefix, for a faster one-time feature pass on a CPU.

Feature caching runs the frozen layers exactly once, so that one pass is most of what a
transfer-learning run costs. On a CPU, int8 arithmetic does four multiply-adds where fp32
does one (AVX512-VNNI / AVX2 on x86, NEON on ARM): post-training static quantization turns
the frozen prefix into an int8 copy whose output is close to, but not the same as, fp32's.

The recipe is PyTorch's own FX graph-mode quantization, unchanged: ``prepare_fx`` inserts
observers, a few calibration images set each tensor's int8 range, ``convert_fx`` swaps in
the quantized kernels of the CPU's engine (``torch.backends.quantized.engine``). The
original model is never modified, and training never runs in int8 -- only the cached
features are computed this way, so the trainable head still learns in full precision.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

CALIBRATION_IMAGES = 8  # enough to set activation ranges (histogram observers); ~2 s on VGG16


def engine() -> str | None:
    """The quantized engine this CPU runs int8 with, or ``None`` when it has none.

    Example:
        >>> engine() in {"x86", "fbgemm", "onednn", "qnnpack", None}
        True
    """
    name = torch.backends.quantized.engine
    return None if name in (None, "none") else name


def calibration_batch(loader: Iterable, n: int = CALIBRATION_IMAGES) -> torch.Tensor:
    """``n`` images spread evenly over the loader's dataset (every class, not the first one).

    Falls back to the first batches of a plain list of ``(images, labels)`` batches.

    Example:
        >>> data = torch.utils.data.TensorDataset(torch.arange(40.).view(40, 1), torch.zeros(40))
        >>> calibration_batch(DataLoader(data, batch_size=4), n=4).flatten().tolist()
        [0.0, 13.0, 26.0, 39.0]
    """
    dataset = getattr(loader, "dataset", None)
    if isinstance(loader, DataLoader) and loader.batch_size is not None and len(dataset) > 0:
        picks = torch.linspace(0, len(dataset) - 1, min(n, len(dataset))).round().long().tolist()
        spread = DataLoader(Subset(dataset, picks), batch_size=len(picks),
                            collate_fn=loader.collate_fn)
        return next(iter(spread))[0]
    images = []
    for x, _ in loader:
        images.append(torch.as_tensor(x))
        if sum(len(b) for b in images) >= n:
            break
    if not images:
        raise ValueError("The loader yielded no batches: nothing to calibrate int8 on.")
    return torch.cat(images)[:n]


def int8_copy(prefix: nn.Module, calibration: torch.Tensor) -> nn.Module:
    """An int8 copy of the frozen ``prefix``, calibrated on ``calibration`` images (CPU).

    Takes and returns fp32 tensors: the copy quantizes its input and dequantizes its output.

    Raises:
        RuntimeError: this PyTorch build has no quantized engine for the CPU.
        ValueError: ``prefix`` has trainable parameters (only frozen layers are quantized).

    Example:
        >>> import vgg_course as vc
        >>> prefix = vc.models.tiny_vgg(2).features.eval().requires_grad_(False)
        >>> x = torch.randn(4, 3, 32, 32)
        >>> quantized = int8_copy(prefix, x)
        >>> quantized(x).shape == prefix(x).shape, quantized(x).dtype
        (True, torch.float32)
    """
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    name = engine()
    if name is None:
        raise RuntimeError("This PyTorch build has no quantized CPU engine "
                           "(torch.backends.quantized.supported_engines): use precision='auto'.")
    trainable = [n for n, p in prefix.named_parameters() if p.requires_grad]
    if trainable:
        raise ValueError(f"Only frozen layers are quantized; {trainable[0]} is trainable.")
    model = copy.deepcopy(prefix).cpu().eval()
    calibration = calibration.detach().float().cpu()
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao on every call
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        observed = prepare_fx(model, get_default_qconfig_mapping(name),
                              example_inputs=(calibration[:1],))
        with torch.inference_mode():
            observed(calibration)
        return convert_fx(observed)
