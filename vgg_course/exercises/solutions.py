"""Solution cells made from the instructor's solution functions: real code, shown as a cell.

A solution is a plain function in ``vgg_course.exercises.instructor.<lesson>``, named like the
exercise's answer, so linters and type checkers read it like any other code. Its source,
``### BEGIN/END SOLUTION`` markers included, is the answer cell the authoring tool stamps into
the lesson notebook:

- a **function** exercise (the student writes ``freeze_features(model)``): the cell is the
  function itself, as written;
- a **value** exercise (the student sets ``predictions = {...}``): the function's body is the
  cell, without its docstring and its final ``return <answer>``, which only lets the
  function hand the value back.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from typing import Any, Callable

_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$")


def strip_solution_markers(source: str) -> str:
    """The solution cell without its ``### BEGIN/END SOLUTION`` lines."""
    return "\n".join(line for line in source.splitlines() if not _MARKER.match(line))


def solution_cell(solution: Callable[..., Any], *, kind: str = "function") -> str:
    """The answer cell for ``solution`` (solution version, markers kept).

    Args:
        solution: the instructor's solution function.
        kind: ``"function"`` (the cell is the function) or ``"value"`` (its body).

    Example:
        >>> def predictions() -> dict:
        ...     '''The cell's code; the docstring is left out.'''
        ...     ### BEGIN SOLUTION
        ...     answer = 6 * 7
        ...     ### END SOLUTION
        ...     predictions = {"answer": answer}
        ...     return predictions
        >>> print(solution_cell(predictions, kind="value"))
        ### BEGIN SOLUTION
        answer = 6 * 7
        ### END SOLUTION
        predictions = {"answer": answer}
    """
    source = textwrap.dedent(inspect.getsource(solution)).strip("\n")
    if kind != "value":
        return source
    lines = source.splitlines()
    node = ast.parse(source).body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise TypeError(f"{solution!r} is not a function")
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring is for the instructor, not for the cell
    if not body or not isinstance(body[-1], ast.Return):
        raise ValueError(f"{node.name}() must end with `return {node.name}`: the cell's value")
    # after the def line (or the docstring), up to the final return: comments included
    start = node.body[0].end_lineno if len(body) < len(node.body) else _signature_end(lines)
    cell = lines[start:body[-1].lineno - 1]
    return textwrap.dedent("\n".join(cell)).strip("\n")


def _signature_end(lines: list[str]) -> int:
    """How many lines the ``def`` signature takes: up to the line that ends with its colon."""
    return next(i for i, line in enumerate(lines, 1) if line.split("#")[0].rstrip().endswith(":"))
