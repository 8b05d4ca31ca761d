"""Course-wide settings: the mode, the language and the folders, chosen once, changed by ``use``.

Every part of the kit that depends on the mode (``vc.models.load_vgg16``,
``vc.datasets.course_dataset``, ``vc.compare.run``, the banner) asks ``vc.config.settings()``,
and a student changes it from a notebook cell, without restarting the kernel::

    vc.config.use("practice")       # random VGG16 weights from now on
    with vc.config.use("quick"):    # quick mode inside this block only, then back
        ...

Environment variables are the defaults, read once (by the first ``settings()`` or ``use()``);
``reset()`` forgets every ``use()``, so that the next call reads them again.

====================  =========================  ==================================================
``use(...)``          default from               meaning
====================  =========================  ==================================================
``mode="quick"``      ``VGG_COURSE_QUICK=1``     quick/offline: practice (random) weights, practice
                                                 data, tiny budgets; CI and stored outputs use it
``mode="real"``       ``VGG_COURSE_REAL=1``      the ants/bees photos and a real pretrained network
                                                 (VGG16 when its weights are installed, else the
                                                 labelled SqueezeNet companion), 2-core budgets
``mode="practice"``   ``VGG_COURSE_PRACTICE=1``  random VGG16 weights instead of the pretrained ones
``mode="full"``       none of the three          pretrained weights, full budgets
``lang="en"``         ``VGG_COURSE_LANG``        the language of the kit's text: ``"en"``, ``"ja"``
                                                 (default: the edition's, see ``edition_lang``)
``data_dir=PATH``     ``VGG_COURSE_DATA``        a folder holding the photos (``train/``, ``val/``)
``data_home=PATH``    ``VGG_COURSE_DATA_HOME``   datasets downloaded or drawn (``<course>/data``)
``results_dir=PATH``  ``VGG_COURSE_RESULTS``     the comparison lab's results (``<course>/results``)
``course_dir=PATH``   ``VGG_COURSE_DIR``         the course folder (default: found as said below)
``strict=True``       ``VGG_COURSE_STRICT=1``    a failed exercise check raises (CI)
(not a setting)       ``TORCH_HOME``             torchvision's cache, where VGG16's weights live
(not a setting)       ``TQDM_DISABLE=1``         no progress bars anywhere
====================  =========================  ==================================================

Whether VGG16's weights are installed is checked when a mode is chosen (the first read, and
each ``use()``), never by ``settings()``: in real mode without them, VGG16 cells use practice
weights and the results come from the companion, and the banner says so.

The **course folder** is found the way git finds a repository: from the working directory
(a notebook's kernel starts in the notebook's folder) up to the nearest folder holding the
marker file ``vgg-course.json``, which ``python -m vgg_course lessons DEST`` writes into
DEST (the repository has one at its root). Data, results and grades go under it, never
into the installed package.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from vgg_course import banner, i18n, tables
from vgg_course.course_folder import LANGS, MARKER, course_folder, edition_lang  # noqa: F401

MODES = ("quick", "real", "practice", "full")
_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _folder(value: str | os.PathLike | None) -> Path | None:
    return None if value is None else Path(value).expanduser()


def _choice(kind: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {kind} {value!r}; choose one of "
                         + ", ".join(repr(c) for c in choices))
    return value


@dataclass(frozen=True)
class Choices:
    """What was asked for, before it is resolved: ``None`` folders follow the course folder."""

    mode: str
    lang: str
    data_dir: Path | None
    data_home: Path | None
    results_dir: Path | None
    course_dir: Path
    strict: bool

    @classmethod
    def from_env(cls) -> Choices:
        """The environment's choices, read now (see the table in the module docstring)."""
        quick, real = _flag("VGG_COURSE_QUICK"), _flag("VGG_COURSE_REAL")
        if quick and real:
            raise ValueError("VGG_COURSE_QUICK=1 and VGG_COURSE_REAL=1 are both set: quick mode "
                             "uses practice weights and drawn images, real mode real photos and "
                             "a pretrained network. Unset one of them.")
        mode = "quick" if quick else "real" if real else (
            "practice" if _flag("VGG_COURSE_PRACTICE") else "full")
        course = _path("VGG_COURSE_DIR") or course_folder()
        lang = os.environ.get("VGG_COURSE_LANG", "").strip().lower() or edition_lang(course)
        return cls(mode=mode, lang=_choice("language (VGG_COURSE_LANG)", lang, LANGS),
                   data_dir=_path("VGG_COURSE_DATA"), data_home=_path("VGG_COURSE_DATA_HOME"),
                   results_dir=_path("VGG_COURSE_RESULTS"), course_dir=course,
                   strict=_flag("VGG_COURSE_STRICT"))

    def resolve(self, previous: Settings | None = None) -> Settings:
        """The settings these choices give; real mode checks once for VGG16's weights file."""
        practice = self.mode in ("quick", "practice")
        if self.mode == "real":
            from vgg_course import weights  # real mode: VGG16 is pretrained only if its file is here

            practice = not weights.cache_path().is_file()
        course = self.course_dir  # data_home and results_dir follow it unless chosen
        return Settings(quick=self.mode == "quick", practice=practice, real=self.mode == "real",
                        data_dir=self.data_dir, data_home=self.data_home or course / "data",
                        strict=self.strict, course_dir=course, lang=self.lang, choices=self,
                        results_dir=self.results_dir or course / "results", previous=previous)


@dataclass(frozen=True, repr=False)
class Settings:
    """The course's settings: shows as a table in a cell; ``with`` restores the previous ones."""

    quick: bool
    practice: bool
    real: bool
    data_dir: Path | None
    data_home: Path
    strict: bool
    course_dir: Path
    results_dir: Path
    lang: str = "en"
    choices: Choices | None = field(default=None, compare=False)
    previous: Settings | None = field(default=None, compare=False)  # restored by ``with``

    @property
    def grades_dir(self) -> Path:
        """Where ``python -m vgg_course grade`` writes by default: ``<course folder>/grades``."""
        return self.course_dir / "grades"

    @property
    def mode(self) -> str:
        """``"quick"``, ``"real"``, ``"practice"`` or ``"full"`` (see ``MODES``)."""
        if self.quick:
            return "quick"
        if self.real:
            return "real"
        return "practice" if self.practice else "full"

    def shown(self, path: str | os.PathLike) -> str:
        """A path as a notebook shows it: from the course folder, else from the home folder.

        ``<course folder>/...``, else ``~/...``, else ``<course folder>/../...`` for a folder
        beside the course folder, else the path as given. Stored outputs travel to other
        machines, so they never show the folders of the one that made them; errors keep the
        full path.

        Example:
            >>> s = dataclasses.replace(Choices.from_env(), course_dir=Path("/srv/course")).resolve()
            >>> s.shown("/srv/course/data/x"), s.shown("/srv/photos"), s.shown(Path.home() / "y")
            ('<course folder>/data/x', '<course folder>/../photos', '~/y')
        """
        path = Path(path).expanduser()
        if not path.is_absolute():
            return str(path)
        if path.is_relative_to(self.course_dir):
            rel = path.relative_to(self.course_dir).as_posix()
            return "<course folder>" + ("" if rel == "." else "/" + rel)
        if path.is_relative_to(Path.home()):
            return "~/" + path.relative_to(Path.home()).as_posix()
        if path.is_relative_to(self.course_dir.parent):  # beside it, e.g. a shared data folder
            return "<course folder>/../" + path.relative_to(self.course_dir.parent).as_posix()
        return str(path)

    def banner(self) -> banner.Banner:
        """What mode this notebook runs in, in words: the first output of every notebook."""
        return banner.Banner(self.mode, self.practice)

    def table(self) -> tables.Table:
        """Every setting by the name ``use()`` takes, and what follows for VGG16's weights."""
        vgg16 = "random (practice)" if self.practice else "ImageNet (pretrained)"

        shown = self.shown
        rows = [("mode", self.mode), ("lang", self.lang),
                ("data_dir", shown(self.data_dir) if self.data_dir else "(not set)"),
                ("data_home", shown(self.data_home)),
                ("results_dir", shown(self.results_dir)),
                ("course_dir", f".../{self.course_dir.name} (the course folder)"),
                ("strict", str(self.strict)), ("VGG16 weights", vgg16)]
        return tables.Table(["setting", "value"], rows,
                            caption="change with vc.config.use(setting=value)")

    def __repr__(self) -> str:
        return f"{self.banner().text}\n{self.table().text()}"

    def _repr_html_(self) -> str:
        return self.banner()._repr_html_() + self.table().html()

    def __enter__(self) -> Settings:
        return self

    def __exit__(self, *exc: object) -> None:
        global _current
        _current = self.previous  # None: the next settings() reads the environment again


_current: Settings | None = None  # None until first read, and after reset()


def settings() -> Settings:
    """The course's settings now: the environment's (read once), as changed by ``use()``.

    Raises:
        ValueError: the environment asks for quick and real mode at once, or an unknown language.

    Example:
        >>> import vgg_course as vc
        >>> vc.config.settings().mode in {"quick", "real", "practice", "full"}
        True
    """
    global _current
    if _current is None:
        _current = Choices.from_env().resolve()
    return _current


def use(
    mode: str | None = None,
    *,
    lang: str | None = None,
    data_dir: str | os.PathLike | None = None,
    data_home: str | os.PathLike | None = None,
    results_dir: str | os.PathLike | None = None,
    course_dir: str | os.PathLike | None = None,
    strict: bool | None = None,
) -> Settings:
    """Change the course's settings for every later call, from a notebook cell: no restart.

    What is not given stays as it is (``reset()`` goes back to the environment's). Real mode
    checks again whether VGG16's weights are installed, so ``use("real")`` after installing
    them picks them up. Used in a ``with`` block, the previous settings come back at its end.

    Args:
        mode: ``"quick"``, ``"real"``, ``"practice"`` or ``"full"`` (see the module docstring).
        lang: ``"en"`` or ``"ja"``.
        data_dir: a folder holding the ants/bees photos (``train/``, ``val/``).
        data_home: where downloaded and generated datasets go.
        results_dir: where the comparison lab writes its results.
        course_dir: the course folder; ``data_home`` and ``results_dir`` follow it unless set.
        strict: whether a failed exercise check raises.

    Returns:
        The new settings: a table in a cell, and a context manager.

    Raises:
        ValueError: an unknown mode or language, or a ``strict`` that is not a bool.

    Example:
        >>> with use("practice") as s:
        ...     s.mode, s.practice, settings() is s
        ('practice', True, True)
        >>> use("fast")
        Traceback (most recent call last):
        ...
        ValueError: unknown mode 'fast'; choose one of 'quick', 'real', 'practice', 'full'
    """
    before = settings()
    if strict is not None and not isinstance(strict, bool):
        raise ValueError(f"strict must be True or False, not {strict!r}")
    old = before.choices or Choices.from_env()
    choices = dataclasses.replace(
        old,
        mode=old.mode if mode is None else _choice("mode", mode, MODES),
        lang=old.lang if lang is None else _choice("language", lang, LANGS),
        data_dir=_folder(data_dir) or old.data_dir,
        data_home=_folder(data_home) or old.data_home,
        results_dir=_folder(results_dir) or old.results_dir,
        course_dir=_folder(course_dir) or old.course_dir,
        strict=old.strict if strict is None else strict)
    global _current
    _current = choices.resolve(previous=dataclasses.replace(before, previous=None))
    return _current


def reset() -> None:
    """Forget every ``use()``: the next ``settings()`` reads the environment again.

    Example:
        >>> reset()
        >>> settings().mode == Choices.from_env().mode
        True
    """
    global _current
    _current = None


def progress_bars(wanted: bool = True) -> bool:
    """Whether to show progress bars: ``wanted``, unless ``TQDM_DISABLE`` is set.

    tqdm honours ``TQDM_DISABLE`` itself in a terminal, but not its notebook bars, which
    would otherwise end up in stored notebook outputs.

    Example:
        >>> progress_bars(False)
        False
    """
    return wanted and not _flag("TQDM_DISABLE")


i18n.follow(lambda: settings().lang)  # the kit's messages speak the settings' language
