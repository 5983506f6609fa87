"""Reading the YAML source: data, a path -> line index, and syntax problems.

The loader is PyYAML's safe loader with YAML 1.2 scalars: only ``true``/``false`` are booleans
(so the country code ``NO`` stays ``"NO"``, not ``False``) and ``9:30`` is a string, not the
sexagesimal integer 570 YAML 1.1 makes of it. Duplicate keys, which PyYAML silently collapses
to the last one, are reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sla_sync.definitions.problems import Path

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class ConfigLoader(yaml.SafeLoader):
    """Safe loader with YAML 1.2 booleans and numbers (see the module docstring)."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's class-level registry, copied here
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        # PyYAML raises a bare ValueError (no line) for 2026-02-30; give it the node's mark.
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise ConstructorError(
                None, None, f"{node.value!r} is not a valid date ({exc})", node.start_mark
            ) from None


ConfigLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
ConfigLoader.add_implicit_resolver(
    _INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
ConfigLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", ConfigLoader.construct_yaml_timestamp)


@dataclass
class Source:
    """A parsed document: ``data`` (``None`` when it could not be read), ``lines`` (path -> 1-based
    line), and ``problems`` as ``(path, message, line)`` found while reading."""

    data: Any = None
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[tuple[Path, str, int | None]] = field(default_factory=list)
    ok: bool = False


def read_source(text: str) -> Source:
    """Parse ``text``; never raises for bad YAML (the error becomes a problem with its line)."""
    source = Source()
    loader = ConfigLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _index(node, (), source, set())
        source.data = loader.construct_document(node) if node is not None else None
        source.ok = True
    except yaml.MarkedYAMLError as exc:
        # Only ``problem``/``context`` are used: str(exc) quotes the offending line of the file,
        # which could hold a secret.
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        message = "invalid YAML: " + ", ".join(parts or ["syntax error"])
        source.problems.append(((), message, mark.line + 1 if mark else None))
    except yaml.YAMLError as exc:
        source.problems.append(((), f"invalid YAML: {type(exc).__name__}", None))
    finally:
        loader.dispose()
    return source


def _index(node: Node, path: Path, source: Source, active: set[int]) -> None:
    """Record the line of every mapping key and list item; report duplicate keys."""
    if id(node) in active:  # a recursive alias: stop, the constructor reports nothing useful
        return
    if path not in source.lines:
        source.lines[path] = node.start_mark.line + 1
    active.add(id(node))
    if isinstance(node, MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            key = str(key_node.value)
            key_line = key_node.start_mark.line + 1
            if key in first_line and key != "<<":
                source.problems.append(
                    (
                        (*path, key),
                        (
                            f"duplicate key {key!r} (first at line {first_line[key]}); "
                            "YAML would silently keep only the last one"
                        ),
                        key_line,
                    )
                )
            else:
                first_line[key] = key_line
                source.lines.setdefault((*path, key), key_line)
            _index(value_node, (*path, key), source, active)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            source.lines.setdefault((*path, index), item.start_mark.line + 1)
            _index(item, (*path, index), source, active)
    active.discard(id(node))
