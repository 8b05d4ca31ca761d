"""Make the kit's translation catalogs: extract, update, compile (Babel).

    python scripts/i18n.py            # extract every marked message, update ja's .po, compile .mo
    python scripts/i18n.py --check    # change nothing; exit 1 when a catalog is stale or a
                                      # message has no Japanese (what the tests run)

The messages are the strings the source marks with ``_()``, ``N_()`` or ``ngettext()``
(``vgg_course.i18n``). The translations live in ``vgg_course/locale/ja/LC_MESSAGES/vgg_course.po``
(edit it there); the compiled ``vgg_course.mo`` beside it ships in the wheel.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vgg_course"
LOCALE = PACKAGE / "locale"
LANGS = ("ja",)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "in_lang": (2,)}


def template() -> Catalog:
    """Every marked message of the package, with where it is used."""
    cat = Catalog(project="vgg-course", charset="utf-8", fuzzy=False)
    methods = [("**/locale/**", "ignore"), ("**.py", "python")]
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE), method_map=methods, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)):
        if message in ("", ("", "")):
            continue
        cat.add(message, None, [(f"vgg_course/{filename}", lineno)], auto_comments=comments,
                context=context)
    return cat


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "vgg_course.po"


def _po_bytes(cat: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, cat, width=100, sort_output=True, omit_header=False, ignore_obsolete=True,
             include_lineno=False)
    return out.getvalue()


def _mo_bytes(cat: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, cat, use_fuzzy=False)
    return out.getvalue()


def updated(lang: str, tmpl: Catalog) -> Catalog:
    """``lang``'s catalog with exactly the template's messages and the translations it had."""
    path = po_path(lang)
    if path.is_file():
        with path.open("rb") as handle:
            cat = read_po(handle, locale=lang)
    else:
        cat = Catalog(locale=lang, project="vgg-course", charset="utf-8")
    cat.update(tmpl, no_fuzzy_matching=True)
    cat.obsolete.clear()
    cat.revision_date = cat.creation_date = tmpl.creation_date.replace(year=2026, month=1, day=1,
                                                                      hour=0, minute=0, second=0)
    cat.fuzzy = False
    return cat


def untranslated(cat: Catalog) -> list[str]:
    """The messages of ``cat`` with no translation (or a fuzzy one)."""
    out = []
    for message in cat:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when stale or untranslated")
    args = parser.parse_args(argv)
    tmpl = template()
    problems = []
    for lang in LANGS:
        cat = updated(lang, tmpl)
        po, mo = _po_bytes(cat), _mo_bytes(cat)
        po_file, mo_file = po_path(lang), po_path(lang).with_suffix(".mo")
        missing = untranslated(cat)
        if args.check:
            if not po_file.is_file() or po_file.read_bytes() != po:
                problems.append(f"{po_file.relative_to(ROOT)} is stale: run python scripts/i18n.py")
            if not mo_file.is_file() or mo_file.read_bytes() != mo:
                problems.append(f"{mo_file.relative_to(ROOT)} is stale: run python scripts/i18n.py")
        else:
            po_file.parent.mkdir(parents=True, exist_ok=True)
            po_file.write_bytes(po)
            mo_file.write_bytes(mo)
            print(f"{po_file.relative_to(ROOT)}: {len(cat)} messages, {len(missing)} untranslated")
        problems += [f"{lang}: no translation for {m!r}" for m in missing]
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
