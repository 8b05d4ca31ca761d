"""Device and precision choice: where a model runs and in which number format.

``pick_device()`` takes CUDA, then Apple's MPS, then the CPU. ``autocast_dtype()`` says
whether reduced precision pays off there: bf16 on CUDA, and on a CPU only when the
processor has bf16 hardware (AMX, or AVX512-BF16) -- on a plain AVX2 laptop bf16 is
emulated and several times *slower* than fp32, so fp32 is chosen there. ``prepare()``
applies the choice to a model (device, ``channels_last``, ``cudnn.benchmark``).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

_PRECISIONS = ("auto", "fp32", "bf16")
# /proc/cpuinfo flags that mean "bf16 dot products in hardware" (x86).
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
_CPUINFO = Path("/proc/cpuinfo")


def pick_device(prefer: str | None = None) -> torch.device:
    """The device to train on: ``prefer`` if given, else CUDA, then MPS, then CPU.

    Args:
        prefer: ``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"`` or ``None`` for the best
            one available.

    Raises:
        RuntimeError: ``prefer`` names a device this machine does not have.

    Example:
        >>> pick_device("cpu")
        device(type='cpu')
    """
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"Device {prefer!r} was asked for, but PyTorch sees no CUDA GPU "
                               "here. Use pick_device() to take the best available one.")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"Device {prefer!r} was asked for, but MPS (Apple GPU) is not "
                               "available here. Use pick_device() to take the best available one.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


@functools.cache
def cpu_bf16_hardware() -> str | None:
    """The CPU feature that makes bf16 fast here (``"amx_bf16"``, ``"avx512_bf16"``), or ``None``.

    Read from ``/proc/cpuinfo`` (Linux); elsewhere from oneDNN's own check. Apple silicon
    and AVX2-only laptops give ``None``.
    """
    if _CPUINFO.is_file():
        for line in _CPUINFO.read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return next((f for f in _BF16_FLAGS if f in flags), None)
    # No /proc (macOS, Windows): AMX is the only bf16 fast path PyTorch reports by name.
    capability = torch.backends.cpu.get_cpu_capability()
    return "amx_bf16" if "AMX" in capability.upper() else None


def autocast_dtype(device: torch.device | str, precision: str = "auto") -> torch.dtype | None:
    """The dtype to autocast to on ``device``, or ``None`` for plain fp32.

    Args:
        device: where the model runs.
        precision: ``"auto"`` (bf16 where the hardware has it, else fp32), ``"fp32"`` or
            ``"bf16"`` (forced; on a CPU without bf16 hardware this is slow, not wrong).

    Example:
        >>> autocast_dtype("cpu", "fp32") is None
        True
    """
    if precision not in _PRECISIONS:
        raise ValueError(f"precision must be one of {_PRECISIONS}, not {precision!r}.")
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        return torch.bfloat16 if cpu_bf16_hardware() else None
    return None  # MPS: fp32 (bf16 autocast support there varies by macOS version)


def autocast(device: torch.device | str, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to ``dtype`` on ``device``, or a no-op when ``dtype`` is ``None``."""
    device = torch.device(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass(frozen=True)
class Plan:
    """Where and how a model runs: the result of ``plan()``, readable in a cell."""

    device: torch.device
    dtype: torch.dtype | None
    channels_last: bool
    reason: str

    @property
    def precision(self) -> str:
        return "fp32" if self.dtype is None else str(self.dtype).removeprefix("torch.")

    def __repr__(self) -> str:
        layout = "channels_last" if self.channels_last else "NCHW"
        return f"Plan({self.device}, {self.precision}, {layout}: {self.reason})"


def plan(device: torch.device | str | None = None, precision: str = "auto") -> Plan:
    """Choose device, precision and memory layout together, with the reason in words.

    Example:
        >>> plan("cpu", "fp32")
        Plan(cpu, fp32, NCHW: fp32 was asked for)
    """
    device = pick_device(None if device is None else str(device))
    dtype = autocast_dtype(device, precision)
    if precision != "auto":
        reason = f"{precision} was asked for"
    elif device.type == "cuda":
        reason = "bf16 autocast on a CUDA GPU" if dtype else "this GPU has no bf16: fp32"
    elif device.type == "cpu":
        hw = cpu_bf16_hardware()
        reason = (f"this CPU has {hw}: bf16 autocast" if hw else
                  "this CPU has no bf16 hardware (AMX/AVX512-BF16), where bf16 is slower: fp32")
    else:
        reason = f"{device.type}: fp32"
    # channels_last lets bf16 convolutions use the fast NHWC kernels (cuDNN, oneDNN).
    return Plan(device, dtype, channels_last=dtype is not None, reason=reason)


def prepare(model: nn.Module, chosen: Plan) -> nn.Module:
    """Move ``model`` to the plan's device and layout (in place) and set ``cudnn.benchmark``.

    ``cudnn.benchmark`` times the convolution algorithms once per input shape and keeps the
    fastest; it pays off when the shapes stay fixed, as with fixed-size crops.
    """
    model.to(chosen.device)
    if chosen.channels_last:
        model.to(memory_format=torch.channels_last)
    if chosen.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return model


def to_device(x: torch.Tensor, chosen: Plan) -> torch.Tensor:
    """Move a batch to the plan's device, in ``channels_last`` when it is an image batch."""
    x = x.to(chosen.device, non_blocking=True)
    if chosen.channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x
