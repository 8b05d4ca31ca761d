"""Solutions out, stubs in: the student version of a solution notebook (nbgrader's markers).

``clear_solutions`` replaces each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region by a
stub at the same indentation; ``student_version`` does it to every cell and clears every output
(see ``vc.instructor.authoring`` for the commands that write the student notebooks).
"""

from __future__ import annotations

import ast
import copy
import re
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbformat import NotebookNode

_BEGIN = re.compile(r"^(?P<indent>\s*)#+\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
CODE_STUB = "# YOUR CODE HERE"
TEXT_STUB = "YOUR ANSWER HERE"


class AuthoringError(ValueError):
    """A lesson notebook's solution markers are malformed."""


def _assigned_names(block: str) -> list[str]:
    """Names a top-level block binds, outside any function or class it defines."""
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
            names.append(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(textwrap.dedent(block)))
    return names


def _used_names(code: str) -> set[str]:
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def clear_solutions(source: str, *, markdown: bool = False, keep: tuple[str, ...] = ()) -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region by a stub.

    Args:
        source: a cell's source.
        markdown: the cell is markdown (the stub is ``YOUR ANSWER HERE``).
        keep: names a top-level stub must still define (the exercise's answer).

    Raises:
        AuthoringError: a region is not closed, or an END comes without a BEGIN.

    Example:
        >>> print(clear_solutions("x = 1\\n### BEGIN SOLUTION\\ny = x + 1\\n### END SOLUTION\\nprint(y)"))
        x = 1
        # YOUR CODE HERE
        y = ...
        print(y)
    """
    lines, out, i = source.splitlines(), [], 0
    while i < len(lines):
        begin = _BEGIN.match(lines[i])
        if _END.match(lines[i]):
            raise AuthoringError(f"line {i + 1}: END SOLUTION without BEGIN SOLUTION")
        if not begin:
            out.append(lines[i])
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if _END.match(lines[j])), None)
        if end is None:
            raise AuthoringError(f"line {i + 1}: BEGIN SOLUTION without END SOLUTION")
        if any(_BEGIN.match(line) for line in lines[i + 1:end]):
            raise AuthoringError(f"line {i + 1}: nested BEGIN SOLUTION")
        indent, block = begin["indent"], "\n".join(lines[i + 1:end])
        if markdown:
            out.append(indent + TEXT_STUB)
        elif indent:
            out += [indent + CODE_STUB, indent + "raise NotImplementedError()"]
        else:
            later = _used_names("\n".join(lines[end + 1:]))
            try:
                bound = _assigned_names(block)
            except SyntaxError as exc:
                raise AuthoringError(f"line {i + 1}: the solution does not parse: {exc}") from exc
            out += [CODE_STUB] + [f"{n} = ..." for n in bound if n in later or n in keep]
        i = end + 1
    return "\n".join(out)


def student_version(nb: NotebookNode) -> NotebookNode:
    """A copy of a solution notebook with solutions stubbed and all outputs cleared."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        answer = cell.metadata.get("vgg_course", {}).get("answer")
        try:
            cell.source = clear_solutions(cell.source, markdown=cell.cell_type == "markdown",
                                          keep=(answer,) if answer else ())
        except AuthoringError as exc:
            raise AuthoringError(f"cell {index}: {exc}") from None
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["vgg_course"] = {"student": True}
    return nb
