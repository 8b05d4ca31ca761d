"""The JupyterHub kernel: `python -m vgg_course kernel` writes a spec named vgg-course that
Jupyter finds and that really starts this environment's Python with the kit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from vgg_course.instructor import kernel


@pytest.mark.slow
def test_the_command_writes_a_working_kernel_spec_named_vgg_course(tmp_path):
    prefix = tmp_path / "hub"
    done = subprocess.run([sys.executable, "-m", "vgg_course", "kernel", "--prefix", str(prefix)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "kernel 'vgg-course'" in done.stdout
    kernels = prefix / "share" / "jupyter" / "kernels"
    spec_file = json.loads((kernels / "vgg-course" / "kernel.json").read_text())
    assert spec_file["display_name"] == kernel.DISPLAY_NAME == "VGG16 course"

    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    specs.ensure_native_kernel = False  # only what the command wrote
    assert sorted(specs.find_kernel_specs()) == ["vgg-course"]
    spec = specs.get_kernel_spec("vgg-course")
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()

    manager = KernelManager(kernel_name="vgg-course", kernel_spec_manager=specs)
    manager.start_kernel(cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        seen: list[str] = []
        reply = client.execute_interactive(
            "import sys, vgg_course; print(vgg_course.__file__, sys.executable, sep='\\n')",
            timeout=120, output_hook=lambda msg: seen.append(msg["content"].get("text", "")))
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    printed = "".join(seen).split()
    import vgg_course

    assert printed[0] == vgg_course.__file__
    assert Path(printed[1]).resolve() == Path(sys.executable).resolve()
