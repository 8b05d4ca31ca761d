"""The comparison lab on a folder of any size: peak memory and images/s of ``compare``.

Generates a flat folder of N photos (224 px JPEGs in three class folders: smooth random
colour fields, each class with its own tint; written by every core, in a temporary folder
removed afterwards), then runs ``python -m vgg_course compare`` over it in a child process,
the way an instructor would: the SqueezeNet companion, every recipe (from_scratch with its
own settings), 1 epoch, 1 seed, batch 32, ``--val-fraction 0.2``. Then the same for N/4.

For each size it prints the child's peak memory (its maximum resident set size, from
``os.wait4``) and its images/s: the images every recipe trained and evaluated on (epochs x
seeds x (train + val), from_scratch's own epochs included) over the command's wall time,
which also holds the data check, feature caching and from_scratch's statistics pass.
Folders over the lab's 1 GiB of decoded images are streamed, so both peaks should be
about equal; ``--limit-mb`` lowers that limit in the child, so a small N streams too.

    python benchmarks/bench_folder.py                         # 10,000 and 2,500 images
    python benchmarks/bench_folder.py -n 4000 --limit-mb 64   # smaller, both streamed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("red", "green", "blue")
CHILD = """
import sys
from vgg_course.compare import lab
if sys.argv[1] != "-":
    lab._PRELOAD_LIMIT = int(sys.argv[1])  # a benchmark knob: the CLI keeps the lab's 1 GiB
from vgg_course.__main__ import main
raise SystemExit(main(sys.argv[2:]))
"""


def _write(args: tuple[Path, int, int]) -> None:
    folder, start, stop = args
    for i in range(start, stop):
        rng = np.random.default_rng(i)
        klass = i % len(CLASSES)
        field = rng.integers(0, 160, size=(7, 7, 3), dtype=np.uint8)
        field[..., klass] += 90  # the class's tint: something to learn
        image = Image.fromarray(field).resize((224, 224), Image.BILINEAR)
        image.save(folder / CLASSES[klass] / f"img_{i:06d}.jpg", quality=85)


def make_folder(root: Path, n: int) -> Path:
    """``root/<class>/img_*.jpg``: n images over three classes, written by every core."""
    for klass in CLASSES:
        (root / klass).mkdir(parents=True, exist_ok=True)
    workers = os.cpu_count() or 1
    step = -(-n // (workers * 4))
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_write, [(root, s, min(n, s + step)) for s in range(0, n, step)]))
    return root


def run_compare(folder: Path, out: Path, limit: int | None, device: str | None) -> dict:
    """One ``compare`` in a child process: wall seconds, peak RSS, images processed."""
    command = [sys.executable, "-c", CHILD, "-" if limit is None else str(limit),
               "compare", "--model", "squeezenet", "--data", str(folder), "--val-fraction", "0.2",
               "--epochs", "1", "--repeats", "1", "--batch-size", "32", "--out", str(out)]
    command += ["--device", device] if device else []
    log = out.with_suffix(".log")
    start = time.perf_counter()
    with open(log, "w") as fh:
        child = subprocess.Popen(command, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT,
                                 env={**os.environ, "TQDM_DISABLE": "1"})
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"compare failed ({child.returncode}):\n{log.read_text()[-3000:]}")
    saved = json.loads((out / "comparison.json").read_text())
    per_epoch = saved["n_train"] + saved["n_val"]
    images = sum(r["epochs"] * len(r["seeds"]) * per_epoch for r in saved["results"])
    peak_mb = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)  # bytes on macOS
    return {"n": per_epoch, "seconds": seconds, "peak_mb": peak_mb, "images": images,
            "recipes": [r["recipe"] for r in saved["results"]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10_000, help="images in the big folder "
                        "(default: 10000); the second run has a quarter of them")
    parser.add_argument("--limit-mb", type=int, default=None,
                        help="decoded images the lab keeps in memory, in MiB (default: its 1 GiB)")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best one)")
    args = parser.parse_args(argv)
    limit = None if args.limit_mb is None else args.limit_mb * 2**20
    rows = []
    for n in (args.n, args.n // 4):
        with tempfile.TemporaryDirectory(prefix="bench_folder_") as tmp:
            start = time.perf_counter()
            folder = make_folder(Path(tmp) / "photos", n)
            made = time.perf_counter() - start
            row = run_compare(folder, Path(tmp) / "out", limit, args.device)
            shutil.rmtree(folder)
        rows.append(row)
        print(f"N={n:,}: generated in {made:.1f} s; compare ({', '.join(row['recipes'])}) "
              f"took {row['seconds']:.1f} s, {row['images']:,} images -> "
              f"{row['images'] / row['seconds']:.1f} images/s; peak memory {row['peak_mb']:.0f} MiB",
              flush=True)
    big, small = rows
    print(f"peak memory: {big['peak_mb']:.0f} MiB at N={args.n:,}, {small['peak_mb']:.0f} MiB at "
          f"N={args.n // 4:,} (ratio {big['peak_mb'] / small['peak_mb']:.2f}; the data grew 4x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
