"""Problems found in a configuration file, and where they are.

A *path* names a place in the YAML document the way ops reads it: mapping keys joined by ``.``,
list items as zero-based ``[n]`` (``agreements[1].calendars.ny.hours.mon``). Internally a path
is a tuple of keys (``str``) and indexes (``int``); :func:`format_path` and :func:`parse_path`
convert between the two forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PathElem = str | int
Path = tuple[PathElem, ...]

_PATH_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def format_path(path: Path) -> str:
    """``("agreements", 1, "calendars")`` -> ``"agreements[1].calendars"``."""
    out: list[str] = []
    for elem in path:
        if isinstance(elem, int):
            out.append(f"[{elem}]")
        else:
            out.append(("." if out else "") + elem)
    return "".join(out)


def parse_path(text: str) -> Path:
    """The inverse of :func:`format_path`; also accepts ``hours.0`` style indexes from other
    validators only as keys (a bare number stays a key: it may be a mapping key)."""
    elems: list[PathElem] = []
    for match in _PATH_TOKEN.finditer(text):
        index, key = match.groups()
        elems.append(int(index) if index is not None else key)
    return tuple(elems)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a configuration file.

    ``path`` is the place in the document (empty for the file as a whole), ``line`` the 1-based
    line of that place when known. ``str()`` gives ``line 42: <path>: <message>``. Messages never
    contain secret values.
    """

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.path:
            where.append(self.path)
        return ": ".join([*where, self.message])


class ConfigError(ValueError):
    """A configuration file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[ConfigProblem], *, source: str = "configuration") -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        self.source = source
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


class Problems:
    """Collects problems at paths and attaches line numbers from the document's line index.

    ``lines`` maps a path to the line of its key (mapping entries) or item (list entries); a path
    that is not in the document (a missing key, a calendar engine path like ``hours.mon`` for a
    key written ``mon-fri``) gets the line of its nearest ancestor that is.
    """

    def __init__(self, lines: Mapping[Path, int] | None = None) -> None:
        self._lines: Mapping[Path, int] = lines or {}
        self._items: list[ConfigProblem] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, path: Path, message: str, *, line: int | None = None) -> None:
        """Record ``message`` at ``path`` (once: repeats of the same text at the same place are
        dropped)."""
        text = format_path(path)
        if (text, message) in self._seen:
            return
        self._seen.add((text, message))
        self._items.append(ConfigProblem(text, message, line if line else self.line_of(path)))

    def line_of(self, path: Path) -> int | None:
        """The line of ``path`` or of its nearest ancestor present in the document."""
        for end in range(len(path), -1, -1):
            line = self._lines.get(path[:end])
            if line is not None:
                return line
        return None

    def __len__(self) -> int:
        return len(self._items)

    def sorted(self) -> list[ConfigProblem]:
        """Problems in file order (problems without a line last, then by path)."""
        return sorted(
            self._items,
            key=lambda p: (p.line is None, p.line or 0, p.path),
        )
