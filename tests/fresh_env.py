"""The fresh-install helpers of scripts/fresh_install_check.py, for the tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fresh_install_check.py"
_spec = importlib.util.spec_from_file_location("fresh_install_check", _SCRIPT)
fresh = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fresh)
