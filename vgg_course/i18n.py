"""The kit's words in the student's language: gettext catalogs, English in the source.

Every sentence a student reads (exercise statements, hints, check feedback, banners, widget
labels, the errors of the lessons) is written in English in the source, marked for
extraction, and looked up in ``vgg_course/locale/<lang>/LC_MESSAGES/vgg_course.mo`` when it
is shown, in the language of ``vc.config.settings().lang``:

    from vgg_course.i18n import _, N_

    TITLE = N_("count trainable parameters")      # marked here, translated where shown: _(TITLE)
    message = _("{n} parameters train").format(n=n)   # translated now

A template keeps its ``{name}`` fields in both languages, so ``.format`` fills either. The
catalogs are made with Babel (``python scripts/i18n.py``: extract, update, compile); a test
fails when a marked message has no Japanese, or a compiled catalog is older than its source.
"""

from __future__ import annotations

import functools
import importlib
import gettext
from pathlib import Path

DOMAIN = "vgg_course"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@functools.lru_cache(maxsize=None)
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English: the source's own words).

    Example:
        >>> catalog("en").gettext("passed")
        'passed'
    """
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang], fallback=True)


_source = None  # set by vc.config when it loads: the settings' language, read at each call


def follow(source) -> None:
    """Take the language from ``source()`` (``vc.config`` passes its settings' ``lang``)."""
    global _source
    _source = source


def lang() -> str:
    """The language the kit speaks now: ``vc.config.settings().lang``."""
    if _source is None:  # config registers itself on import; loading it here does that
        getattr(importlib.import_module("vgg_course"), "config")  # the package loads it lazily
    return _source() if _source is not None else "en"


def _(message: str) -> str:
    """``message`` in the current language (itself where there is no translation).

    Example:
        >>> from vgg_course import config
        >>> with config.use(lang="en"):
        ...     _("passed")
        'passed'
    """
    if not message:
        return message
    return catalog(lang()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` for ``n``, in the current language."""
    return catalog(lang()).ngettext(singular, plural, n)


def in_lang(language: str, message: str) -> str:
    """``message`` in ``language``, whatever the current one is (the editions' builder)."""
    return catalog(language).gettext(message) if message else message


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it (module-level constants)."""
    return message
