"""Calendars of the file, built (and so validated) by the calendar engine.

The engine (:meth:`BusinessCalendar.from_config`) owns every calendar rule (hours syntax, time
zone, holiday country, no working time); this module only places its findings in the file:
``CalendarConfigError.problems`` paths are relative to the calendar and get the calendar's own
path in front (``agreements[1].calendars.london`` + ``hours.mon``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sla_sync.definitions.problems import Path, Problems, parse_path

if TYPE_CHECKING:
    from sla_sync.sla.calendar import BusinessCalendar


def build_calendars(
    sources: Mapping[str, Any], where: Path, problems: Problems
) -> dict[str, BusinessCalendar | None]:
    """Build every calendar of ``sources`` (name -> mapping or list of versions).

    Returns name -> calendar, or ``None`` for a calendar with problems (the name still counts as
    defined, so references to it do not add a second, misleading problem).
    """
    from sla_sync.sla.calendar import BusinessCalendar, CalendarConfigError

    built: dict[str, BusinessCalendar | None] = {}
    for name, source in sources.items():
        path: Path = (*where, str(name))
        try:
            built[str(name)] = BusinessCalendar.from_config(source, name=str(name))
        except CalendarConfigError as exc:
            built[str(name)] = None
            for sub, message in exc.problems or [("", str(exc))]:
                problems.add((*path, *_engine_path(source, sub)), message)
        except Exception as exc:  # bad input must become a problem, never a crash
            built[str(name)] = None
            problems.add(path, f"invalid calendar: {exc}")
    return built


def _engine_path(source: Any, text: str) -> Path:
    """The engine's relative path as path elements; digits index into lists."""
    out: list[str | int] = []
    node = source
    for elem in parse_path(text):
        if isinstance(node, list) and isinstance(elem, str) and elem.isdigit():
            elem = int(elem)
        out.append(elem)
        if isinstance(node, dict):
            node = node.get(elem)
        elif isinstance(node, list) and isinstance(elem, int) and elem < len(node):
            node = node[elem]
        else:
            node = None
    return tuple(out)
