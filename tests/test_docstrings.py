"""Every docstring example in the package runs and prints what it says (STYLE.md, habit 10)."""

from __future__ import annotations

import doctest
import importlib

import pytest

import pkgutil

import vgg_course

# Every module of the package, subpackages included (the probe is a script, not a library).
MODULES = sorted(m.name.removeprefix("vgg_course.") for m in pkgutil.walk_packages(
    vgg_course.__path__, "vgg_course.") if m.name != "vgg_course.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"vgg_course.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
