"""Is the from-scratch baseline honest? Run it on the photos and on a folder unlike ImageNet.

Usage:
    python benchmarks/bench_scratch.py [--data PATH/hymenoptera_data] [--out results/bench_scratch.json]

Draws a 4-class folder of geometric shapes (circle, square, triangle, cross: random colours,
sizes, positions and noisy backgrounds, 128 px; 100 train + 40 val images per class),
nothing like ImageNet's photos, then runs the comparison lab's transfer learning and
from_scratch recipes (three seeds each, the lab's default settings, SqueezeNet companion)
on it and, when given, on the ants/bees photos. Prints each recipe's mean ± sd and whether
any run diverged or collapsed to one class.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "cross")


def draw_shapes(root: Path, *, per_class: tuple[int, int] = (100, 40), size: int = 128,
                seed: int = 0) -> Path:
    """Write ``root/{train,val}/<shape>/*.png``; the same seed draws the same images."""
    rng = random.Random(seed)
    for split, count in zip(("train", "val"), per_class):
        for shape in SHAPES:
            folder = root / split / shape
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                bg = tuple(rng.randrange(256) for _ in range(3))
                img = Image.effect_noise((size, size), rng.uniform(20, 60)).convert("RGB")
                img = Image.blend(img, Image.new("RGB", (size, size), bg), 0.7)
                d = ImageDraw.Draw(img)
                r = rng.uniform(0.15, 0.35) * size
                cx, cy = (rng.uniform(r, size - r) for _ in range(2))
                colour = tuple(rng.randrange(256) for _ in range(3))
                if shape == "circle":
                    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
                elif shape == "square":
                    d.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
                elif shape == "triangle":
                    d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
                else:
                    w = r / 3
                    d.rectangle((cx - r, cy - w, cx + r, cy + w), fill=colour)
                    d.rectangle((cx - w, cy - r, cx + w, cy + r), fill=colour)
                img.save(folder / f"{shape}_{i:03d}.png")
    return root


def run(data: Path) -> dict:
    import vgg_course as vc

    start = time.perf_counter()
    result = vc.compare.run("squeezenet", data, recipe_names=["transfer_learning", "from_scratch"],
                            budget=vc.compare.Budget(epochs=3), keep_predictions=False, progress=False)
    rows = {}
    for r in result.results:
        rows[r.recipe] = {"mean": r.final_val_acc, "sd": r.val_acc_sd, "runs": r.val_acc_runs,
                          "failure": r.failure, "notes": r.notes, "settings": r.settings}
        print(f"  {r.recipe:<18} {r.accuracy_text():>16}  runs {' / '.join(f'{a:.1%}' for a in r.val_acc_runs)}"
              f"{'  FAILED: ' + r.failure if r.failure else ''}{''.join('  note: ' + n for n in r.notes if 'learned nothing' in n)}")
    print(f"  one validation image = {result.one_image:.2%}; {time.perf_counter() - start:.0f} s")
    return {"data": str(data), "n_train": result.n_train, "n_val": result.n_val, "recipes": rows,
            "seconds": time.perf_counter() - start, "conclusion": result.conclusion()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="the ants/bees photos (optional)")
    parser.add_argument("--out", type=Path, default=Path("results/bench_scratch.json"))
    args = parser.parse_args(argv)
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        shapes = draw_shapes(Path(tmp) / "shapes")
        print("Shapes (4 classes, unlike ImageNet):")
        report["shapes"] = run(shapes)
    if args.data is not None:
        print("Ants and bees photos:")
        report["photos"] = run(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
