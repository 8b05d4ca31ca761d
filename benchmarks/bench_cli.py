"""Command-line start-up benchmark: how long ``python -m vgg_course`` takes to answer.

Times three answers a user gets before any work starts, each in a fresh Python process:
the top-level ``--help``, ``compare --help`` (the command with the most options) and a
usage error (an unknown command). Prints the median wall time of each over several runs;
the target is under one second each (nothing heavy, such as torch, is imported for them).

    python benchmarks/bench_cli.py             # 5 runs each
    python benchmarks/bench_cli.py --runs 9
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 1.0
CASES = {
    "--help": ["--help"],
    "compare --help": ["compare", "--help"],
    "usage error (unknown command)": ["no-such-command"],
}


def time_once(args: list[str]) -> tuple[float, int]:
    """Wall seconds and exit code of one ``python -m vgg_course ARGS``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "vgg_course", *args], capture_output=True,
                          cwd=Path(__file__).resolve().parents[1])
    return time.perf_counter() - start, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (default: 5)")
    args = parser.parse_args(argv)
    slow = False
    print(f"median wall time of `python -m vgg_course ...` over {args.runs} runs")
    for name, cli_args in CASES.items():
        times, codes = zip(*(time_once(cli_args) for _ in range(args.runs)))
        median = statistics.median(times)
        slow |= median > TARGET_SECONDS
        print(f"  {name:32s} {median:6.3f} s  (min {min(times):.3f}, max {max(times):.3f}; "
              f"exit code {codes[0]})")
    print(f"target: under {TARGET_SECONDS:g} s each: {'missed' if slow else 'met'}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
