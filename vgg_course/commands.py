"""Commands whose work needs torch or nbformat: weights, data, compare, release; parsers light to import.

``python -m vgg_course --help`` and every usage error answer at once because no command's
parser imports torch, torchvision, matplotlib or nbformat. The modules that do these commands'
work need them at their top level (``vgg_course.weights``, ``vgg_course.datasets``,
``vgg_course.compare.lab``, ``vgg_course.instructor.release``), so their parsers are defined
here and each handler imports the module that does the work when it runs. Modules light
anyway (``workspace``, ``instructor.kernel``, ``instructor.authoring``,
``instructor.grading``) define their own ``add_cli``.

The compare command's choices and defaults are the lab's (``vc.models.NAMES``,
``vc.recipes.RECIPES``, ``vc.devices.PRECISIONS`` and ``Budget``'s defaults), written down
here because the parser may not import them; ``tests/test_cli.py`` holds them to the lab's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

HERE_HELP = ("use the working directory as the course folder for this command (without it, "
             "a command run outside a course folder stops and says where it would write)")
LAB_MODELS = ("vgg16", "squeezenet")
LAB_RECIPES = ("transfer_learning", "finetune_new_classifier", "finetune_pretrained_classifier",
               "finetune_imagenet_rows",
               "partial_finetune", "full_finetune", "from_scratch")
LAB_PRECISIONS = ("auto", "fp32", "bf16", "int8")
# Budget's defaults: epochs, batch_size, lr, backbone_lr, seed, repeats, precision.
LAB_DEFAULTS = {"epochs": 3, "batch_size": 32, "lr": 3e-3, "backbone_lr": 1e-3, "seed": 0,
                "repeats": 3, "precision": "auto"}


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """The commands ``weights``, ``data``, ``compare`` and ``release``."""
    _add_weights(subparsers)
    _add_data(subparsers)
    _add_compare(subparsers)
    _add_release(subparsers)


# ---------------------------------------------------------------- weights


def _add_weights(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "weights", help="check or install the pretrained VGG16 weights",
        description="Check whether the pretrained VGG16 weights (vgg16-397923af.pth, 528 MiB) "
                    "are in torchvision's cache, or install them there from a local copy, "
                    "such as a file on a USB stick or a shared drive.")
    sub = parser.add_subparsers(dest="action", required=True, help="what to do")
    sub.add_parser("status", help="say whether the weights are cached",
                   description="Say whether the weights file is in torchvision's cache; exit "
                               "code 1 if it is not.").set_defaults(func=_cli_weights_status)
    inst = sub.add_parser("install", help="install a local copy of vgg16-397923af.pth, verified",
                          description="Check a local copy of vgg16-397923af.pth (size, SHA-256, "
                                      "and that it holds VGG16's weights), then copy it into "
                                      "torchvision's cache. A refused file installs nothing.")
    inst.add_argument("path", type=Path, help="the local copy of vgg16-397923af.pth")
    inst.set_defaults(func=_cli_weights_install)


def _cli_weights_status(args: argparse.Namespace) -> int:
    from vgg_course import weights

    result = weights.status()
    print(repr(result))
    return 0 if result.ready else 1


def _cli_weights_install(args: argparse.Namespace) -> int:
    from vgg_course import weights

    try:
        dest = weights.install(args.path, progress=True)
    except (FileNotFoundError, weights.WeightsError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"Installed and verified: {dest}")
    return 0


# ---------------------------------------------------------------- data


def _add_data(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data", help="check, download or install the course datasets",
        description="The ants/bees photos of the PyTorch transfer-learning tutorial: say "
                    "where they are, download them (checked against their SHA-256), or "
                    "install them from a local copy; or draw the offline practice dataset.")
    sub = parser.add_subparsers(dest="action", required=True, help="what to do")
    sub.add_parser("status", help="say where the ants/bees photos are",
                   description="Say where the ants/bees photos are, or how to get them; exit "
                               "code 1 if they are not installed.").set_defaults(func=_cli_data_status)
    inst = sub.add_parser("install", help="install the ants/bees photos from a local zip or folder",
                          description="Install the ants/bees photos from a local copy: the zip "
                                      "(checked by its SHA-256) or the unpacked folder (checked "
                                      "by its structure). A refused copy installs nothing.")
    inst.add_argument("path", type=Path,
                      help="hymenoptera_data.zip, or the unpacked hymenoptera_data folder")
    inst.add_argument("--here", action="store_true", help=HERE_HELP)
    inst.set_defaults(func=_cli_data_install)
    down = sub.add_parser("download", help="download the ants/bees photos (verified)",
                          description="Download the ants/bees photos once, check them against "
                                      "their SHA-256 and unpack them safely into the data folder.")
    down.add_argument("--here", action="store_true", help=HERE_HELP)
    down.set_defaults(func=_cli_data_download)
    prac = sub.add_parser("practice", help="generate the offline practice dataset",
                          description="Draw a small offline ants/bees look-alike dataset "
                                      "(cartoon insects on textured backgrounds), once; the same "
                                      "seed gives the same files.")
    prac.add_argument("--seed", type=int, default=0, help="what to draw")
    prac.add_argument("--root", type=Path, default=None,
                      help="where to put it (default: practice/seed-SEED in the data folder)")
    prac.add_argument("--here", action="store_true", help=HERE_HELP)
    prac.set_defaults(func=_cli_data_practice)


def _destination(command: str, here: bool, where: Callable[[], Path], *, chosen: bool = False
                ) -> Path | None:
    """Where ``command`` writes, said in one line; ``None`` (and why, on stderr) when there is
    no course folder and neither ``--here`` (``here``) nor a place the user named (``chosen``)."""
    from vgg_course import config, workspace

    if here:
        config.use(course_dir=Path.cwd().resolve())
    path = where()
    try:
        print(workspace.where_to_write(command, path, here=here, chosen=chosen))
    except workspace.NoCourseFolder as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    return path


def _data_home_chosen() -> bool:
    from vgg_course import config

    return config.settings().choices.data_home is not None  # VGG_COURSE_DATA_HOME


def _cli_data_status(args: argparse.Namespace) -> int:
    from vgg_course import datasets

    result = datasets.status()
    print(repr(result))
    return 0 if result.ready else 1


def _cli_data_install(args: argparse.Namespace) -> int:
    from vgg_course import datasets

    if _destination("data install", args.here, datasets.cache_path, chosen=_data_home_chosen()) is None:
        return 2
    try:
        dest = datasets.install(args.path, progress=True)
    except (FileNotFoundError, datasets.DatasetError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"Installed and checked: {dest}")
    return 0


def _cli_data_download(args: argparse.Namespace) -> int:
    from vgg_course import datasets

    if _destination("data download", args.here, datasets.cache_path, chosen=_data_home_chosen()) is None:
        return 2
    try:
        dest = datasets.download(progress=True)
    except datasets.DatasetError as exc:
        print(f"error: {exc}")
        return 2
    print(f"Downloaded, verified and extracted: {dest}")
    return 0


def _cli_data_practice(args: argparse.Namespace) -> int:
    from vgg_course import config, datasets

    def where() -> Path:
        return args.root or config.settings().data_home / "practice" / f"seed-{args.seed}"

    if _destination("data practice", args.here, where,
                   chosen=args.root is not None or _data_home_chosen()) is None:
        return 2
    try:
        dest = datasets.practice_dataset(where(), seed=args.seed)
    except datasets.DatasetError as exc:
        print(f"error: {exc}")
        return 2
    print(f"Practice dataset: {dest}")
    return 0


# ---------------------------------------------------------------- compare


def _add_compare(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="run every transfer-learning / fine-tuning recipe under one budget",
        description="Train each recipe from the same weights and seed; write JSON, CSV, "
                    "a Markdown summary and PNG figures.")
    parser.add_argument("--model", choices=LAB_MODELS, default="squeezenet",
                        help="vgg16 (needs its pretrained weights) or squeezenet: the offline "
                             "companion, its weights installed with the kit")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with train/<class>/ and val/<class>/, or one folder of "
                             "class folders with --val-fraction (default: the course data)")
    parser.add_argument("--val-fraction", type=float, default=None, metavar="F",
                        help="for one folder of class folders (no train/ and val/): this "
                             "fraction of each class's images, between 0 and 1 (e.g. 0.2), "
                             "becomes the validation set, chosen by --seed")
    parser.add_argument("--epochs", type=int, default=LAB_DEFAULTS["epochs"],
                        help="epochs of training for each recipe and seed")
    parser.add_argument("--batch-size", type=int, default=LAB_DEFAULTS["batch_size"],
                        help="images per training step")
    parser.add_argument("--lr", type=float, default=LAB_DEFAULTS["lr"],
                        help="learning rate of the new head")
    parser.add_argument("--backbone-lr", type=float, default=LAB_DEFAULTS["backbone_lr"],
                        help="learning rate of every other trainable layer")
    parser.add_argument("--augment", action="store_true", help="random crops/flips (turns caching off)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="side of the square crop the model sees, in pixels (default: the "
                             "size its weights expect)")
    parser.add_argument("--seed", type=int, default=LAB_DEFAULTS["seed"], help="the first seed")
    parser.add_argument("--repeats", type=int, default=LAB_DEFAULTS["repeats"],
                        help="runs per recipe, with seeds seed, seed+1, ...; the table reports "
                             "their mean ± sd")
    parser.add_argument("--recipes", nargs="+", default=None, metavar="NAME",
                        help=f"the recipes to run (default: all: {', '.join(LAB_RECIPES)})")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda or mps (default: the best one this machine has)")
    parser.add_argument("--precision", choices=LAB_PRECISIONS, default=LAB_DEFAULTS["precision"],
                        help="auto: bf16 where the hardware has it, else fp32; int8: the cached "
                             "passes in int8 on a CPU, training as auto")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the results (default: the course folder's "
                             "results/comparison/MODE-MODEL, see VGG_COURSE_RESULTS)")
    parser.add_argument("--here", action="store_true", help=HERE_HELP)
    parser.set_defaults(func=_cli_compare)


def _cli_compare(args: argparse.Namespace) -> int:
    from vgg_course import config, folders, weights
    from vgg_course.compare import lab
    from vgg_course.compare.budget import Budget

    def where() -> Path:  # one folder per mode and model: runs never overwrite each other
        return args.out or lab.results_folder(args.model, lab="comparison")

    chosen = args.out is not None or config.settings().choices.results_dir is not None
    args.out = _destination("compare", args.here, where, chosen=chosen)
    if args.out is None:
        return 2
    if args.data is None and config.settings().data_dir is None:  # the course data: drawn or downloaded
        if _destination("compare", args.here, lambda: config.settings().data_home,
                        chosen=_data_home_chosen()) is None:
            return 2
    try:
        budget = Budget(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        backbone_lr=args.backbone_lr, augment=args.augment,
                        image_size=args.image_size, seed=args.seed, repeats=args.repeats,
                        device=args.device, precision=args.precision)
        result = lab.run(args.model, args.data, recipe_names=args.recipes, budget=budget,
                         val_fraction=args.val_fraction, out=args.out)
    except folders.DataError as exc:  # the API's argument, as this command spells it
        print("error: " + str(exc).replace("val_fraction=", "--val-fraction ")
              .replace("val_fraction", "--val-fraction"), file=sys.stderr)
        return 2
    except (weights.WeightsError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.to_markdown())
    print(f"\nWrote {args.out}/: comparison.json, comparison.csv, summary.md and PNG figures.")
    return 0


# ---------------------------------------------------------------- release


def _add_release(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "release", help="write the student release: notebooks and a kit without solutions",
        description="Write student notebooks and a student wheel of the kit (no solution "
                    "code, no hidden tests) into --out; refuses if a solution line leaks. In "
                    "Google Colab the notebooks' first cell installs the kit from --colab-source: "
                    "publish the wheel there first, then share the links --colab-links writes "
                    "into the release's README.md.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="lesson notebooks (default: every notebooks/NN_*.ipynb)")
    parser.add_argument("--out", type=Path, required=True, help="the folder to hand out")
    colab = parser.add_mutually_exclusive_group()
    colab.add_argument("--colab-source", default=None, metavar="URL",
                       help="where students' Colab installs the kit from: the URL at which you "
                            "will publish the release's wheel/ file (under its own name), or a "
                            "pip index or git+ URL (default: SOURCE in vgg_course/colab.py; "
                            "the release refuses to run without one)")
    colab.add_argument("--no-colab", action="store_true",
                       help="leave the Colab install cell out of the notebooks (they then run "
                            "outside Colab only)")
    parser.add_argument("--colab-links", default=None, metavar="GITHUB_URL",
                        help="the GitHub repository you push the release folder to "
                             "(https://github.com/ORG/REPO, or .../tree/BRANCH/FOLDER): the "
                             "README gets an Open-in-Colab link for every notebook")
    parser.add_argument("--lang", choices=("en", "ja", "both"), default="en",
                        help="the edition: en (notebooks/, the default), ja (notebooks/ja/, "
                             "日本語) or both (notebooks/en/ and notebooks/ja/)")
    parser.set_defaults(func=_cli_release)


def _cli_release(args: argparse.Namespace) -> int:
    import nbformat

    from vgg_course import colab
    from vgg_course.instructor import authoring, release

    try:
        note = None if args.no_colab else release.check_colab_source(
            args.colab_source or colab.SOURCE)
        written = release.write_release(args.out, args.notebooks or None,
                                        colab_source=args.colab_source,
                                        with_colab=not args.no_colab,
                                        colab_repository=args.colab_links, lang=args.lang)
    except (ValueError, RuntimeError, OSError, nbformat.ValidationError,
            authoring.AuthoringError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote: {path}")
    print(f"no solution line in {args.out} "
          f"({sum(len(v) for v in release.solution_lines().values())} lines searched)")
    if not args.no_colab:
        print(f"Colab: publish {args.out / 'wheel' / release.STUDENT_WHEEL} at "
              f"{args.colab_source or colab.SOURCE} before students open a notebook"
              + (f"; the links are in {args.out / 'README.md'}" if args.colab_links else ""))
    if note:
        print(note, file=sys.stderr)
    return 0
