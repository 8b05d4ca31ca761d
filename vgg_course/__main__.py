"""The kit's command line: ``python -m vgg_course <command> ...``, answering ``--help`` at once."""

from __future__ import annotations

import argparse
import importlib
import sys

from vgg_course import __version__

# Each module named here defines add_cli(subparsers) and sets ``func`` on its parsers. None of
# them imports anything heavy (torch, torchvision, matplotlib, nbformat) at its top level: the
# handlers do, so --help and usage errors answer at once (tests/test_cli.py holds them to it).
# ``commands`` holds the parsers of the modules whose work needs torch or nbformat.
_COMMAND_MODULES = ("workspace", "instructor.kernel", "commands", "instructor.authoring",
                    "instructor.editions",
                    "instructor.collect", "instructor.grading", "instructor.shards")

DESCRIPTION = ("The VGG16 transfer-learning course kit from a shell: a course folder for the "
               "lessons, the pretrained weights and the photos, the comparison lab, and the "
               "instructor's tools (student notebooks, exercises, grading, the release).")
EPILOG = "A command's own options: python -m vgg_course COMMAND --help"


class _Formatter(argparse.HelpFormatter):
    """Shows an option's default after its help, unless it has none or the help says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        has_default = not (action.default is None or action.default is False  # 0 is shown
                           or action.default == argparse.SUPPRESS)
        if has_default and "default" not in text and (
                action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE)):
            return f"{text} (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """A parser whose help shows defaults; its subcommands' parsers are ``_Parser`` too."""

    def __init__(self, *args: object, formatter_class: type = _Formatter, **kwargs: object) -> None:
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, every command's parser in it; imports nothing heavy."""
    parser = _Parser(prog="python -m vgg_course", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"vgg_course {__version__}",
                        help="which build is installed: X.Y.Z is the self-study build (with the "
                             "solutions), X.Y.Z+student a class's release (without)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       help="one of these:")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"vgg_course.{name}").add_cli(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
