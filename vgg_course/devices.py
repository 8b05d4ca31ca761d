"""Device and precision choice: where a model runs and in which number format.

``plan(device, precision)`` turns the two choices into one ``Plan`` (device, autocast dtype,
memory layout, whether a frozen prefix's one-time cached pass runs in int8), once, at the
public edge; the layers below take that ``Plan`` and never read a string again. The same
precisions are accepted everywhere (``PRECISIONS``): ``"auto"`` is bf16 where it pays off --
on CUDA, and on a CPU only when the processor has bf16 hardware (AMX, or AVX512-BF16): on a
plain AVX2 laptop bf16 is emulated and several times *slower* than fp32 -- else fp32;
``"int8"`` is ``"auto"`` for everything that trains, with the cached pass in int8 (a CPU with
an int8 engine: ``vc.features.quantize``). ``with applied(plan):`` sets ``cudnn.benchmark``
for a stretch of work and puts it back after.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch
from torch import nn

PRECISIONS = ("auto", "fp32", "bf16", "int8")
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


def int8_engine() -> str | None:
    """The int8 backend a frozen prefix's int8 copy runs with here, or ``None`` when there is none.

    The copy itself is ``vc.features.quantize``; whether this machine can run one is a question
    about the device, asked at the public edge (``check_precision``) before anything is built.

    ``"x86"`` needs an x86-64 CPU, the C++ compiler that ``torch.compile`` builds CPU kernels
    with (``$CXX``, else g++, clang++ on macOS, cl on Windows) and the releases this was tested
    with: PyTorch 2.14 (built with oneDNN) and torchao 0.18. Older ones are left out: with
    PyTorch 2.10 the compiled copy silently runs fp32 convolutions, up to 2.13 it warns from
    inside its own compiler.

    Example:
        >>> int8_engine() in {"x86", None}
        True
    """
    if (platform.machine().lower() not in {"x86_64", "amd64"}
            or not torch.backends.mkldnn.is_available()
            or _release("torch") < (2, 14) or _release("torchao") < (0, 18)):
        return None
    compiler = os.environ.get("CXX", {"win32": "cl", "darwin": "clang++"}.get(sys.platform, "g++"))
    return "x86" if shutil.which(compiler) else None


def _release(package: str) -> tuple[int, ...]:
    """``(major, minor)`` of an installed package, ``(0,)`` when it is not installed."""
    try:
        return tuple(int(part) for part in version(package).split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return (0,)


def check_precision(precision: str) -> str:
    """``precision`` if this machine can run it anywhere, else a ``ValueError`` saying why.

    One of ``PRECISIONS``; ``"int8"`` also needs an int8 engine (``vc.devices.int8_engine()``).

    Example:
        >>> check_precision("fp32")
        'fp32'
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}.")
    if precision == "int8":
        if int8_engine() is None:
            raise ValueError("precision='int8' needs an int8 engine (an x86-64 CPU, PyTorch 2.14 "
                             "with oneDNN, torchao 0.18 and a C++ compiler: "
                             "vc.devices.int8_engine()), which this machine lacks: use "
                             "precision='auto'.")
    return precision


def autocast_dtype(device: torch.device | str, precision: str = "auto") -> torch.dtype | None:
    """The dtype that trains on ``device`` at ``precision``, or ``None`` for plain fp32.

    Args:
        device: where the model runs.
        precision: ``"auto"`` (bf16 where the hardware has it, else fp32), ``"fp32"``,
            ``"bf16"`` (forced; on a CPU without bf16 hardware this is slow, not wrong) or
            ``"int8"`` (trains as ``"auto"``: only a cached pass runs in int8).

    Example:
        >>> autocast_dtype("cpu", "fp32") is None
        True
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}.")
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
    """``torch.autocast`` to ``dtype`` on ``device``, or a no-op when ``dtype`` is ``None``.

    Example:
        >>> with autocast("cpu", None):
        ...     torch.ones(2).dtype
        torch.float32
    """
    device = torch.device(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass(frozen=True)
class Plan:
    """Where and how a model runs: the result of ``plan()``, readable in a cell.

    ``dtype`` is what everything that trains autocasts to (``None``: fp32); ``int8_prefix``
    says that a frozen prefix's one-time cached pass runs as an int8 copy (``vc.features``).
    """

    device: torch.device
    dtype: torch.dtype | None
    channels_last: bool
    reason: str
    int8_prefix: bool = False

    @property
    def precision(self) -> str:
        """The training precision in words: ``"fp32"`` or ``"bfloat16"``."""
        return "fp32" if self.dtype is None else str(self.dtype).removeprefix("torch.")

    def autocast(self) -> contextlib.AbstractContextManager:
        """``torch.autocast`` to this plan's dtype on its device (a no-op for fp32)."""
        return autocast(self.device, self.dtype)

    def __repr__(self) -> str:
        layout = "channels_last" if self.channels_last else "NCHW"
        int8 = ", int8 cached pass" if self.int8_prefix else ""
        return f"Plan({self.device}, {self.precision}{int8}, {layout}: {self.reason})"


def plan(device: torch.device | str | None = None, precision: str = "auto") -> Plan:
    """Choose device, precision and memory layout together, with the reason in words.

    Args:
        device: ``None`` for the best one here (``pick_device``).
        precision: one of ``PRECISIONS`` (see the module docstring).

    Raises:
        ValueError: an unknown precision, or ``"int8"`` where it cannot run (not a CPU, or
            no int8 engine); the message names ``precision='auto'``.

    Example:
        >>> plan("cpu", "fp32")
        Plan(cpu, fp32, NCHW: fp32 was asked for)
    """
    check_precision(precision)
    device = pick_device(None if device is None else str(device))
    if precision == "int8" and device.type != "cpu":
        raise ValueError(f"int8 feature extraction runs on a CPU, not {device.type}: use "
                         "precision='auto' there (bf16 on a GPU).")
    dtype = autocast_dtype(device, precision)
    if precision in ("fp32", "bf16"):
        reason = f"{precision} was asked for"
    elif device.type == "cuda":
        reason = "bf16 autocast on a CUDA GPU" if dtype else "this GPU has no bf16: fp32"
    elif device.type == "cpu":
        hw = cpu_bf16_hardware()
        reason = (f"this CPU has {hw}: bf16 autocast" if hw else
                  "this CPU has no bf16 hardware (AMX/AVX512-BF16), where bf16 is slower: fp32")
    else:
        reason = f"{device.type}: fp32"
    if precision == "int8":
        reason = f"int8 was asked for: the cached pass in int8, training as auto ({reason})"
    # channels_last lets bf16 convolutions use the fast NHWC kernels (cuDNN, oneDNN).
    return Plan(device, dtype, channels_last=dtype is not None, reason=reason,
                int8_prefix=precision == "int8")


def resolve(device: torch.device | str | None, precision: str,
            chosen: Plan | None) -> Plan:
    """The plan a public function runs with: ``chosen`` if given, else ``plan(device, precision)``.

    Raises:
        ValueError: both a ready plan and a device or precision were given.

    Example:
        >>> ready = plan("cpu", "fp32")
        >>> resolve(None, "auto", ready) is ready
        True
    """
    if chosen is None:
        return plan(device, precision)
    if device is not None or precision != "auto":
        raise ValueError(f"pass plan= or device=/precision=, not both (got plan={chosen!r}, "
                         f"device={device!r}, precision={precision!r}).")
    return chosen


@contextlib.contextmanager
def applied(chosen: Plan) -> Iterator[Plan]:
    """Apply the plan's global settings while the block runs, and restore them after.

    ``cudnn.benchmark`` times the convolution algorithms once per input shape and keeps the
    fastest: it pays off on a GPU when the shapes stay fixed, as with fixed-size crops. It is
    a process-wide flag, so it is set here for the block only.

    Example:
        >>> before = torch.backends.cudnn.benchmark
        >>> with applied(plan("cpu", "fp32")) as chosen:
        ...     chosen.device
        device(type='cpu')
        >>> torch.backends.cudnn.benchmark == before
        True
    """
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = chosen.device.type == "cuda"
    try:
        yield chosen
    finally:
        torch.backends.cudnn.benchmark = before


def prepare(model: nn.Module, chosen: Plan) -> nn.Module:
    """Move ``model`` to the plan's device and memory layout (in place); return it.

    Example:
        >>> prepare(nn.Conv2d(3, 4, 3), plan("cpu", "fp32")).weight.device
        device(type='cpu')
    """
    model.to(chosen.device)
    if chosen.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def to_device(x: torch.Tensor, chosen: Plan) -> torch.Tensor:
    """Move a batch to the plan's device, in ``channels_last`` when it is an image batch.

    Example:
        >>> to_device(torch.zeros(2, 3, 4, 4), plan("cpu", "fp32")).device
        device(type='cpu')
    """
    x = x.to(chosen.device, non_blocking=True)
    if chosen.channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x
