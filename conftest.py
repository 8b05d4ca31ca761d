"""Pytest set-up shared by the unit tests and nbval's notebook checks."""

import os

# nbval's kernels inherit this process's environment: check notebooks in the mode
# scripts/regen_notebooks.py stored them in (quick/offline, no progress bars).
os.environ.setdefault("VGG_COURSE_QUICK", "1")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("TQDM_DISABLE", "1")

# Student notebooks are stored without outputs (the grader tests run them), and grader
# fixtures are deliberately broken submissions: neither is an nbval target.
collect_ignore_glob = ["notebooks/student/*", "tests/fixtures/*", "tests/**/fixtures/*"]
