"""The kit's command line: ``python -m vgg_course <command> ...``."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module named here defines add_cli(subparsers) and sets ``func`` on its parsers.
_COMMAND_MODULES = ("workspace", "instructor.kernel", "weights", "datasets", "compare",
                    "instructor.authoring", "instructor.grading", "instructor.release")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vgg_course", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(f"vgg_course.{name}").add_cli(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
