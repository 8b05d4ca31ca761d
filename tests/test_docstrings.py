"""Every docstring example in the package runs and prints what it says (STYLE.md, habit 10)."""

from __future__ import annotations

import doctest
import importlib

import pytest

import vgg_course

MODULES = [m for m in vgg_course._SUBMODULES if m != "exercises"] + ["exercises.core"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"vgg_course.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
