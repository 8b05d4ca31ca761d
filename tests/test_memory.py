"""Tests for vgg_course.memory: the resident peak on Linux, macOS and Windows, and nesting."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import torch

from vgg_course import memory


class _Usage:
    ru_maxrss = 123_456


def _fake_psutil(peak_wset: int) -> types.ModuleType:
    info = types.SimpleNamespace(rss=1, vms=2, peak_wset=peak_wset, wset=1)
    module = types.ModuleType("psutil")
    module.Process = lambda: types.SimpleNamespace(memory_info=lambda: info)
    return module


def test_macos_reads_ru_maxrss_in_bytes(monkeypatch):
    import resource

    monkeypatch.setattr(sys, "platform", "darwin")
    real = memory.resident_peak()
    assert real.bytes > 0 and not real.resettable and "ru_maxrss" in real.source
    monkeypatch.setattr(resource, "getrusage", lambda who: _Usage())
    assert memory.resident_peak().bytes == 123_456  # bytes on macOS
    monkeypatch.setattr(sys, "platform", "freebsd14")
    assert memory.resident_peak().bytes == 123_456 * 1024  # KiB on the BSDs, as on Linux


def test_windows_reads_the_peak_working_set_with_psutil(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "psutil", _fake_psutil(987_654_321))
    peak = memory.resident_peak()
    assert peak.bytes == 987_654_321 and not peak.resettable and "psutil" in peak.source


def test_windows_without_psutil_says_why_there_is_no_number(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil -> ImportError
    peak = memory.resident_peak()
    assert peak.bytes is None and "pip install psutil" in peak.source
    tracker = memory.PeakMemory("cpu")
    assert tracker.read() is None and tracker.cpu_peak() is None
    assert "psutil" in tracker.source


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_without_a_reset_a_tracker_reports_the_process_peak(monkeypatch, platform):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setitem(sys.modules, "psutil", _fake_psutil(5 * 2**30))
    resets = []
    monkeypatch.setattr(memory, "_reset_resident_peak", lambda: resets.append(1) or True)
    tracker = memory.PeakMemory(torch.device("cpu"))
    assert tracker.cpu_scope == "process" and not resets
    assert tracker.read() == tracker.cpu_peak() > 0 and tracker.gpu_peak() is None


def test_linux_without_proc_falls_back_to_rusage_in_kib(monkeypatch, tmp_path):
    import resource

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(memory, "_STATUS", tmp_path / "no-such-status")
    monkeypatch.setattr(resource, "getrusage", lambda who: _Usage())
    peak = memory.resident_peak()
    assert peak.bytes == 123_456 * 1024 and not peak.resettable


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_linux_reads_vmhwm_and_can_reset_it():
    peak = memory.resident_peak()
    assert peak.source == "VmHWM" and peak.resettable and peak.bytes > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_memory_sees_a_large_allocation():
    # In a fresh process: in this one, earlier tests leave freed memory resident that the
    # allocator may reuse, so a new block would not raise the high-water mark.
    code = (
        "import torch; from vgg_course import memory\n"
        "peak = memory.PeakMemory(torch.device('cpu')); before = peak.read()\n"
        "block = torch.ones(256 * 2**20 // 4)  # 256 MiB, written so the pages are resident\n"
        "print(peak.read() - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) >= 250 * 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_memory_trackers_nest():
    # fit() tracks each epoch inside a comparison that tracks the whole recipe: the inner
    # tracker's reset must not hide the outer stretch's earlier peak.
    code = (
        "import torch; from vgg_course import memory\n"
        "outer = memory.PeakMemory('cpu'); base = outer.read()\n"
        "block = torch.ones(256 * 2**20 // 4); del block  # a 256 MiB peak, then freed\n"
        "inner = memory.PeakMemory('cpu')  # resets the process-wide high-water mark\n"
        "print(outer.read() - base, inner.read() - base, outer.gpu_peak(), inner.cpu_scope)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    outer_growth, inner_growth, gpu, scope = out.stdout.split()
    assert int(outer_growth) >= 250 * 2**20
    assert int(inner_growth) < 100 * 2**20
    assert gpu == "None" and scope == "stretch"
