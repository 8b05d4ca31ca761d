"""Peak memory of a stretch of work: the process's resident high-water mark and GPU allocations.

Each platform reports the resident high-water mark its own way, and only Linux can reset it:

=======  =================================================  ====================================
system   read from                                          reset for each stretch
=======  =================================================  ====================================
Linux    ``VmHWM`` in ``/proc/self/status`` (KiB)           yes (``/proc/self/clear_refs``)
macOS    ``resource.getrusage(RUSAGE_SELF).ru_maxrss``      no
         (bytes on macOS; KiB on Linux and the BSDs)
Windows  psutil's ``Process().memory_info().peak_wset``     no
         (bytes; ``None``, with the reason, without psutil)
=======  =================================================  ====================================

Where the mark cannot be reset, a tracker's CPU peak is the process's peak since it started
(``PeakMemory.cpu_scope == "process"``): never below the stretch's own peak, and above it when
an earlier stretch used more. GPU: CUDA's ``max_memory_allocated`` (reset for each stretch);
on Apple's MPS the driver's current allocation (it keeps no peak).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
# Peaks read just before each reset of a process-wide counter (VmHWM, CUDA's peak stats),
# per counter, append-only: a tracker that an inner tracker's reset "blinded" adds back the
# peaks recorded since it started, so trackers nest (fit()'s per-epoch peak inside a whole
# comparison's) and every one of them stays exact.
_BEFORE_RESET: dict[str, list[int]] = {}


@dataclass(frozen=True)
class ResidentPeak:
    """The process's resident high-water mark as this platform reports it, in bytes."""

    bytes: int | None
    source: str       # where the number comes from, or why there is none
    resettable: bool  # whether a stretch can start from zero (Linux only)


def _linux() -> ResidentPeak:
    try:
        text = _STATUS.read_text()
    except OSError:  # no /proc (a sandbox without it): the rusage mark, in KiB
        return _rusage(1024)
    for line in text.splitlines():
        if line.startswith("VmHWM:"):  # "VmHWM:   123456 kB"
            return ResidentPeak(int(line.split()[1]) * 1024, "VmHWM", resettable=True)
    return _rusage(1024)


def _rusage(scale: int) -> ResidentPeak:
    try:
        import resource  # Unix only
    except ImportError:
        return ResidentPeak(None, "not measured: this system has no getrusage()", False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    return ResidentPeak(peak, "ru_maxrss, the process's peak since it started", False)


def _windows() -> ResidentPeak:
    try:
        import psutil
    except ImportError:
        return ResidentPeak(None, "not measured: on Windows the peak working set is read with "
                                  "psutil, which is not installed (pip install psutil)", False)
    peak = psutil.Process().memory_info().peak_wset
    return ResidentPeak(int(peak), "peak working set (psutil), the process's peak since it "
                                   "started", False)


def resident_peak() -> ResidentPeak:
    """This process's resident high-water mark, read the way ``sys.platform`` allows.

    Example:
        >>> peak = resident_peak()
        >>> peak.bytes is None or peak.bytes > 0
        True
    """
    if sys.platform.startswith("linux"):
        return _linux()
    if sys.platform == "darwin":
        return _rusage(1)  # ru_maxrss is in bytes on macOS
    if sys.platform in ("win32", "cygwin"):
        return _windows()
    return _rusage(1024)  # the BSDs: KiB, like Linux


def _reset_resident_peak() -> bool:
    """Start VmHWM again from the current resident size; ``False`` where that is not allowed."""
    try:
        _CLEAR_REFS.write_text("5")  # "5" resets VmHWM (proc(5))
    except OSError:
        return False
    return True


class PeakMemory:
    """Peak memory of one stretch of work, in bytes: CPU resident memory and GPU allocations.

    Created at the start of the stretch; ``read()`` gives the peak so far on its device
    (CUDA's ``max_memory_allocated``, MPS's driver allocation, else the process's resident
    high-water mark), ``cpu_peak()`` / ``gpu_peak()`` each side, ``None`` where the platform
    does not say (``source`` then says why). Trackers nest: an inner one resets the counters
    for its own stretch without hiding anything from an outer one. ``cpu_scope`` is
    ``"stretch"`` where the mark was reset (Linux), else ``"process"``: see the module's table.

    Example:
        >>> peak = PeakMemory("cpu")
        >>> peak.gpu_peak() is None and peak.cpu_scope in ("stretch", "process")
        True
    """

    def __init__(self, device: torch.device | str) -> None:
        self.device = torch.device(device)
        self._marks: dict[str, int] = {}
        if self.device.type == "cuda":
            self._reset(str(self.device), int(torch.cuda.max_memory_allocated(self.device)),
                        lambda: torch.cuda.reset_peak_memory_stats(self.device) or True)
        first = resident_peak()
        self.source = first.source  # how the CPU side is read, or why it is not
        reset = False
        if first.bytes is not None and first.resettable:
            reset = self._reset("cpu", first.bytes, _reset_resident_peak)
        self.cpu_scope = "stretch" if reset else "process"

    def _reset(self, counter: str, peak_so_far: int, reset: Callable[[], bool]) -> bool:
        history = _BEFORE_RESET.setdefault(counter, [])
        history.append(peak_so_far)
        self._marks[counter] = len(history)
        return reset()

    def _peak(self, counter: str, now: int) -> int:
        return max([now, *_BEFORE_RESET.get(counter, [])[self._marks.get(counter, 0):]])

    def cpu_peak(self) -> int | None:
        now = resident_peak()
        if now.bytes is None:
            return None
        return self._peak("cpu", now.bytes) if self.cpu_scope == "stretch" else now.bytes

    def gpu_peak(self) -> int | None:
        if self.device.type == "cuda":
            return self._peak(str(self.device), int(torch.cuda.max_memory_allocated(self.device)))
        if self.device.type == "mps":
            return int(torch.mps.driver_allocated_memory())
        return None

    def read(self) -> int | None:
        return self.gpu_peak() if self.device.type in ("cuda", "mps") else self.cpu_peak()
