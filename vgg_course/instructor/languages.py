"""The language cells of a bilingual master lesson: tags, pairs, staleness, one edition.

Pure functions on nbformat notebooks (see ``vc.instructor.editions`` for the whole picture):
a prose cell is tagged ``lang-en`` or ``lang-ja``; a Japanese cell follows its English one and
records ``{"id", "sha256"}`` of it in ``metadata.vgg_course.translates``.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

LANGS = ("en", "ja")
TAG = {lang: f"lang-{lang}" for lang in LANGS}
JA_SUFFIX = "-ja"  # nbgrader grade ids of Japanese cells in a master (ids must be unique there)


def sha256(text: str) -> str:
    """The hash a Japanese cell records of the English cell it translates."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cell_lang(cell) -> str | None:
    """``"en"``, ``"ja"`` or ``None`` (shared) from the cell's tags."""
    tags = cell.get("metadata", {}).get("tags", [])
    found = [lang for lang in LANGS if TAG[lang] in tags]
    return found[0] if len(found) == 1 else None if not found else "both"


def translates(cell) -> dict:
    """The ``{"id", "sha256"}`` a Japanese cell records (empty when it records none)."""
    meta = cell.get("metadata", {}).get("vgg_course", {})
    value = meta.get("translates", {}) if isinstance(meta, dict) else {}
    return value if isinstance(value, dict) else {}


def pair_metadata(en_cell, metadata: dict | None = None) -> dict:
    """The metadata of a new Japanese cell for ``en_cell``: its tag and what it translates."""
    meta = copy.deepcopy(dict(metadata if metadata is not None else en_cell.metadata))
    meta["tags"] = [t for t in meta.get("tags", []) if t != TAG["en"]] + [TAG["ja"]]
    vgg = dict(meta.get("vgg_course", {}))
    vgg["translates"] = {"id": en_cell.get("id"), "sha256": sha256(en_cell.source)}
    meta["vgg_course"] = vgg
    if "nbgrader" in meta and not meta["nbgrader"]["grade_id"].endswith(JA_SUFFIX):
        meta["nbgrader"] = {**meta["nbgrader"], "grade_id": meta["nbgrader"]["grade_id"] + JA_SUFFIX}
    return meta


def problems(nb, name: str = "notebook") -> list[str]:
    """What is wrong with a master's language cells (empty: every English cell has a current
    Japanese one right after it, and every Japanese cell follows its English one)."""
    out = []
    cells = nb.cells
    for index, cell in enumerate(cells):
        lang = cell_lang(cell)
        where = f"{name}, cell {index} ({cell.get('id')})"
        if lang == "both":
            out.append(f"{where}: tagged both lang-en and lang-ja")
        elif lang and cell.cell_type != "markdown":
            out.append(f"{where}: a {cell.cell_type} cell tagged {TAG[lang]}: only prose is "
                       "per language; code and its outputs are shared")
        elif cell.cell_type == "markdown" and lang is None:
            out.append(f"{where}: a prose cell with no language tag (lang-en or lang-ja)")
        elif lang == "en":
            nxt = cells[index + 1] if index + 1 < len(cells) else None
            if nxt is None or cell_lang(nxt) != "ja":
                out.append(f"{where}: no Japanese cell after this English one")
            elif translates(nxt).get("id") != cell.get("id"):
                out.append(f"{where}: the Japanese cell after it translates "
                           f"{translates(nxt).get('id')!r}, not this cell")
            elif translates(nxt).get("sha256") != sha256(cell.source):
                out.append(f"{where}: the English changed after its Japanese cell was last "
                           f"revised: revise cell {nxt.get('id')} and run `python -m vgg_course "
                           f"editions --reviewed {name} {cell.get('id')}`")
        elif lang == "ja":
            before = cells[index - 1] if index else None
            if before is None or cell_lang(before) != "en":
                out.append(f"{where}: a Japanese cell with no English cell before it")
            elif not cell.source.strip():
                out.append(f"{where}: an empty Japanese cell")
    return out


def edition(nb, lang: str):
    """The ``lang`` edition of a master: the other language's cells removed (nbconvert's
    ``TagRemovePreprocessor``), nbgrader ids as in the English edition, the language recorded."""
    from nbconvert.preprocessors import TagRemovePreprocessor

    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    other = {TAG[x] for x in LANGS if x != lang}
    out, _ = TagRemovePreprocessor(remove_cell_tags=other, enabled=True).preprocess(
        copy.deepcopy(nb), {})
    for cell in out.cells:
        meta = cell.metadata.get("vgg_course")
        if isinstance(meta, dict):  # the master's bookkeeping: no hash of anything in an edition
            meta.pop("translates", None)
            if not meta:
                del cell.metadata["vgg_course"]
        grader = cell.metadata.get("nbgrader")
        if grader and grader.get("grade_id", "").endswith(JA_SUFFIX):
            grader["grade_id"] = grader["grade_id"][:-len(JA_SUFFIX)]
    out.metadata.setdefault("vgg_course", {})["edition"] = lang
    return out


def mark_reviewed(master: Path, en_id: str) -> None:
    """Record that the Japanese cell after English cell ``en_id`` is revised for its text now."""
    import nbformat

    nb = nbformat.read(master, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.get("id") == en_id and cell_lang(cell) == "en":
            nxt = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
            if nxt is None or cell_lang(nxt) != "ja":
                raise ValueError(f"{master}: cell {en_id} has no Japanese cell after it")
            nxt.metadata.setdefault("vgg_course", {})["translates"] = {
                "id": en_id, "sha256": sha256(cell.source)}
            nbformat.write(nb, master)
            return
    raise ValueError(f"{master}: no English cell with id {en_id!r}")


