"""The course's Jupyter kernel: one spec named ``vgg-course``, for JupyterHub and shared machines.

On a JupyterHub an admin installs the kit once, in its own environment, and registers that
environment's Python as a kernel every user can pick::

    python -m vgg_course kernel --prefix /usr/local   # what `scripts/course.py hub-install` runs

It is ``python -m ipykernel install --name vgg-course --display-name "VGG16 course"``
with the course's name fixed, so notebooks, docs and the grader all say the same thing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "vgg-course"
DISPLAY_NAME = "VGG16 course"


def install(*, prefix: str | Path | None = None, user: bool = False) -> Path:
    """Write the ``vgg-course`` kernel spec for this Python and return its folder.

    Args:
        prefix: install under ``PREFIX/share/jupyter/kernels`` (``/usr/local``: every user
            of this machine; ``sys.prefix``: this environment's own Jupyter).
        user: install for the current user only (``~/.local/share/jupyter``).
        Neither: the system-wide folder (``/usr/local/share/jupyter/kernels`` on Linux).
    """
    from ipykernel.kernelspec import install as install_spec

    return Path(install_spec(kernel_name=NAME, display_name=DISPLAY_NAME, user=user,
                             prefix=None if prefix is None else str(prefix)))


def _cli(args: argparse.Namespace) -> int:
    prefix = sys.prefix if args.sys_prefix else args.prefix
    try:
        folder = install(prefix=prefix, user=args.user)
    except (OSError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"kernel {NAME!r} ({DISPLAY_NAME}) installed in {folder}; it runs {sys.executable}")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "kernel", help=f"register this Python as the Jupyter kernel {NAME!r} (JupyterHub)",
        description=f"Install the Jupyter kernel spec {NAME!r} ({DISPLAY_NAME!r}) that runs "
                    "this Python, so every Jupyter on the machine (a JupyterHub's users too) "
                    "can pick the environment the kit is installed in.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--prefix", type=Path,
                       help="install under PREFIX/share/jupyter/kernels (default, without any of "
                            "these three: the system-wide folder, /usr/local/share/jupyter/kernels "
                            "on Linux)")
    where.add_argument("--sys-prefix", action="store_true",
                       help="install into this environment's own Jupyter (sys.prefix)")
    where.add_argument("--user", action="store_true", help="install for the current user only")
    parser.set_defaults(func=_cli)
