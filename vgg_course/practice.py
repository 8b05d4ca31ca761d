"""Drawing the offline practice photos: cartoon ants and bees on textured backgrounds.

Deterministic (one random stream per image, so the same seed gives byte-identical files)
and quick: the whole set takes well under a second. ``vc.datasets.practice_dataset()``
decides where it lives and writes it once through ``write()``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vgg_course import folders

VERSION = 1
COUNTS = {"train": 40, "val": 20}  # images per class
SIZE = 96  # pixels


def _creature(rng: np.random.Generator, kind: str) -> Image.Image:
    """One cartoon insect on a transparent layer: dark three-part ants, striped yellow bees."""
    layer = Image.new("RGBA", (48, 48), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    if kind == "ants":
        body = tuple(int(v) for v in rng.integers([40, 15, 5], [110, 45, 30])) + (255,)
        for x0, r in ((8, 5), (17, 4), (26, 8)):  # head, thorax, abdomen along a line
            d.ellipse((x0, 24 - r, x0 + 2 * r, 24 + r), fill=body)
        for x in (17, 20, 23):  # six legs
            d.line((x, 24, x - 4, 14), fill=body, width=1)
            d.line((x, 24, x - 4, 34), fill=body, width=1)
    else:
        d.ellipse((16, 8, 30, 20), fill=(235, 240, 255, 170))  # wing
        yellow = tuple(int(v) for v in rng.integers([220, 160, 0], [256, 210, 50])) + (255,)
        d.ellipse((8, 16, 40, 34), fill=yellow)
        for x in (16, 23, 30):  # black stripes
            d.rectangle((x, 16, x + 3, 34), fill=(20, 20, 20, 255))
        d.ellipse((36, 21, 43, 29), fill=(20, 20, 20, 255))  # head
    scale = float(rng.uniform(0.7, 1.3))
    side = max(8, int(48 * scale))
    layer = layer.resize((side, side), Image.BILINEAR)
    return layer.rotate(float(rng.uniform(0, 360)), resample=Image.BILINEAR, expand=True)


def draw(seed: int, split: int, cls: int, index: int) -> Image.Image:
    """One practice photo: a textured background with 1-3 ants or 1-2 bees (same args, same image).

    Example:
        >>> draw(0, 0, 1, 7).size
        (96, 96)
        >>> draw(0, 0, 1, 7).tobytes() == draw(0, 0, 1, 7).tobytes()
        True
    """
    rng = np.random.default_rng([seed, split, cls, index])  # one stream per image: order-free
    kind = ("ants", "bees")[cls]
    # ants on soil/grass/stone, bees among flowers/sky; the palettes overlap in the greens
    palette = ([(110, 85, 60), (90, 120, 60), (130, 130, 120)] if kind == "ants"
               else [(120, 170, 220), (100, 150, 70), (200, 150, 200)])
    base = np.array(palette[rng.integers(len(palette))], dtype=np.float32)
    noise = rng.normal(0, 18, (SIZE // 4, SIZE // 4, 3))
    texture = np.kron(noise, np.ones((4, 4, 1)))  # blotches, not pixel noise
    pixels = np.clip(base + texture + rng.normal(0, 6, texture.shape), 0, 255).astype(np.uint8)
    img = Image.fromarray(pixels, "RGB").convert("RGBA")
    for _ in range(int(rng.integers(1, 4 if kind == "ants" else 3))):
        creature = _creature(rng, kind)
        x = int(rng.integers(-8, SIZE - creature.width + 8))
        y = int(rng.integers(-8, SIZE - creature.height + 8))
        img.alpha_composite(creature, (max(0, x), max(0, y)))
    return img.convert("RGB")


def write(root: Path, seed: int) -> None:
    """Write the whole set into ``root`` (train/val x ants/bees JPEGs, a .gif, a manifest)."""
    for s_i, split in enumerate(folders.SPLITS):
        for c_i, cls in enumerate(("ants", "bees")):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(COUNTS[split]):
                draw(seed, s_i, c_i, i).save(folder / f"{cls}_{i:03d}.jpg", quality=90)
    # the real photos have a .gif placeholder that ImageFolder skips; so does the practice set
    Image.new("P", (32, 32), 0).save(root / "train" / "ants" / "imageNotFound.gif")
    manifest = {"kind": "vgg_course practice dataset", "version": VERSION, "seed": seed}
    (root / ".practice.json").write_text(json.dumps(manifest, indent=1) + "\n")
