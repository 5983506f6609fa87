"""Reading a definition file: every problem, or the resolved configuration.

One pipeline serves both entry points: :func:`check_config_file` returns the problems (and never
raises for bad input), :func:`load_config` returns :class:`SlaSyncConfig` or raises
:class:`ConfigError` listing them. Steps: YAML (syntax, duplicate keys, line index) -> literal
secrets (reported and redacted before anything can echo them) -> schema (pydantic, whole file) ->
cross-value checks per part (each connection, calendar and agreement separately, so one broken
part does not hide the problems of the others; within a part each check runs on the values that
are valid, see :mod:`~sla_sync.definitions.partial`) -> policies. A schema error that is only a
consequence of another (a list "too short" because its items are invalid) is dropped.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sla_sync.definitions.build import build_agreement
from sla_sync.definitions.calendars import build_calendars
from sla_sync.definitions.checks import (
    Names,
    check_agreement,
    check_connection,
    check_recipient_refs,
    duplicates,
)
from sla_sync.definitions.connections import (
    HubSpotConnection,
    SalesforceConnection,
    SecretReader,
    Spec,
)
from sla_sync.definitions.models import AgreementSpec, ConfigSpec
from sla_sync.definitions.operations import RecipientSpec, WorkerSpec
from sla_sync.definitions.problems import ConfigError, ConfigProblem, Path, Problems
from sla_sync.definitions.secrets import SECRET_KEYS, scan_comment_lines, scan_secrets
from sla_sync.definitions.source import read_source
from sla_sync.sla.policy import AgreementPolicy

if TYPE_CHECKING:
    from sla_sync.sla.calendar import BusinessCalendar


@dataclass(frozen=True)
class SlaSyncConfig:
    """A valid definition file, resolved.

    ``connections`` keep their typed settings (:class:`HubSpotConnection`,
    :class:`SalesforceConnection`) and only the *names* of credential variables;
    ``calendars`` are the top-level calendars (agreement-local ones live in the policies).
    """

    source: str
    connections: tuple[HubSpotConnection | SalesforceConnection, ...]
    calendars: Mapping[str, BusinessCalendar]
    agreements: tuple[AgreementSpec, ...]
    _policies: tuple[AgreementPolicy, ...] = field(repr=False)
    worker: WorkerSpec = field(default_factory=WorkerSpec)
    recipients: Mapping[str, RecipientSpec] = field(default_factory=dict)

    def agreement_policies(self) -> tuple[AgreementPolicy, ...]:
        """Every agreement as the engine's policy, in file order."""
        return self._policies

    def agreement_policy(self, agreement_id: str) -> AgreementPolicy:
        """The policy of ``agreement_id``; ``KeyError`` when there is none."""
        for policy in self._policies:
            if policy.id == agreement_id:
                return policy
        raise KeyError(agreement_id)

    def agreement_spec(self, agreement_id: str) -> AgreementSpec:
        """The agreement ``agreement_id`` as written (reporting schedule, alerts, consequences);
        ``KeyError`` when there is none."""
        for agreement in self.agreements:
            if agreement.id == agreement_id:
                return agreement
        raise KeyError(agreement_id)

    def connection(self, name: str) -> HubSpotConnection | SalesforceConnection:
        """The connection called ``name``; ``KeyError`` when there is none."""
        for connection in self.connections:
            if connection.name == name:
                return connection
        raise KeyError(name)

    def agreements_of(self, connection: str) -> tuple[AgreementPolicy, ...]:
        """The agreements that read connection ``connection``, in file order."""
        return tuple(p for p in self._policies if connection in p.connections)

    def lead_fields(self, connection: str) -> dict[str, str]:
        """``{lead field: CRM property}`` the connection must pull: every field the
        connection's agreements read (scope and tier conditions, the value field) plus those
        its ``fields:`` lists, mapped by :meth:`ConnectionSpec.field_map`.

        Raises:
            KeyError: no connection is called ``connection``.
        """
        spec = self.connection(connection)
        names = {name for p in self.agreements_of(connection) for name in policy_fields(p)}
        return spec.field_map(names)

    def history_fields(self, connection: str) -> tuple[str, ...]:
        """Lead fields whose change history the connection must pull: those tier rules read
        (the tier is decided on the values at the clock start, or retroactively on later
        ones, so the current value alone is not enough)."""
        names: set[str] = set()
        for policy in self.agreements_of(connection):
            if policy.sales is not None and policy.sales.speed is not None:
                names.update(c.field for tier in policy.sales.speed.tiers for c in tier.when)
        return tuple(sorted(names))

    def resolve_credentials(
        self, name: str, read_secret: SecretReader, environ: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Credential values of connection ``name``; pass :func:`sla_sync.settings.read_secret`
        (see :meth:`~sla_sync.definitions.connections.ConnectionSpec.resolve_credentials`)."""
        return self.connection(name).resolve_credentials(read_secret, environ)


def policy_fields(policy: AgreementPolicy) -> set[str]:
    """The lead fields an agreement reads: scope and tier conditions and its value field."""
    names = {c.field for c in policy.scope.when}
    if policy.sales is not None and policy.sales.speed is not None:
        names.update(c.field for tier in policy.sales.speed.tiers for c in tier.when)
    if policy.volume is not None and policy.volume.value_field:
        names.add(policy.volume.value_field)
    return names


def check_config_file(path: str | FsPath) -> list[ConfigProblem]:
    """Every problem of the file at ``path``, in file order; empty when it is valid.

    Never raises for bad input: a missing or unreadable file, bad YAML, a wrong shape are all
    problems.
    """
    text, problem = _read(path)
    if problem is not None:
        return [problem]
    return _analyse(text).problems.sorted()


def check_config_text(text: str) -> list[ConfigProblem]:
    """:func:`check_config_file` for a document already in memory."""
    return _analyse(text).problems.sorted()


def load_config(path: str | FsPath) -> SlaSyncConfig:
    """The resolved configuration of the file at ``path``.

    Raises:
        ConfigError: the file is missing or invalid; ``.problems`` lists every problem.
    """
    text, problem = _read(path)
    if problem is not None:
        raise ConfigError([problem], source=str(path))
    return _load(text, str(path))


def load_config_text(text: str, *, source: str = "<text>") -> SlaSyncConfig:
    """:func:`load_config` for a document already in memory."""
    return _load(text, source)


# --------------------------------------------------------------------------- pipeline


def _read(path: str | FsPath) -> tuple[str, ConfigProblem | None]:
    try:
        return FsPath(path).read_text(encoding="utf-8"), None
    except FileNotFoundError:
        return "", ConfigProblem("", "file not found")
    except IsADirectoryError:
        return "", ConfigProblem("", "is a directory, not a file")
    except UnicodeDecodeError:
        return "", ConfigProblem("", "not UTF-8 text")
    except OSError as exc:
        return "", ConfigProblem("", f"cannot be read ({exc.strerror})")


@dataclass
class _Analysis:
    problems: Problems
    spec: ConfigSpec | None = None
    calendars: dict[str, BusinessCalendar | None] = field(default_factory=dict)
    local_calendars: list[dict[str, BusinessCalendar | None]] = field(default_factory=list)


def _analyse(text: str) -> _Analysis:
    source = read_source(text)
    problems = Problems(source.lines)
    result = _Analysis(problems)
    for path, message, line in source.problems:
        problems.add(path, message, line=line)
    for line in scan_comment_lines(text):
        problems.add(
            (), "a comment looks like it holds a secret: literal secret not allowed", line=line
        )
    if not source.ok:
        return result
    if not isinstance(source.data, dict):
        problems.add(
            (),
            "the file must be a mapping with connections, calendars and agreements",
            line=1 if source.data is None else None,
        )
        return result

    data, secret_problems = scan_secrets(source.data)
    secret_paths = [path for path, _ in secret_problems]
    for path, message in secret_problems:
        problems.add(path, message)

    try:
        result.spec = ConfigSpec.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            if _is_cascade(error, data):
                continue
            path, message = _translate(error, data)
            if not any(path[: len(s)] == s for s in secret_paths):
                problems.add(path, message)

    _check_parts(data, result)
    return result


def _check_parts(data: dict[str, Any], result: _Analysis) -> None:
    problems = result.problems
    raw_connections = data.get("connections")
    raw_connections = raw_connections if isinstance(raw_connections, list) else []
    raw_calendars = data.get("calendars")
    raw_calendars = raw_calendars if isinstance(raw_calendars, dict) else {}
    raw_agreements = data.get("agreements")
    raw_agreements = raw_agreements if isinstance(raw_agreements, list) else []
    raw_recipients = data.get("recipients")
    raw_recipients = raw_recipients if isinstance(raw_recipients, dict) else {}

    names = Names(
        connections=duplicates(raw_connections, "name", ("connections",), "connection", problems),
        calendars={str(k) for k in raw_calendars},
        recipients={str(k) for k in raw_recipients},
    )
    worker = data.get("worker")
    if isinstance(worker, dict):
        check_recipient_refs(
            worker.get("notify_failures"), ("worker", "notify_failures"), names.recipients, problems
        )
    duplicates(raw_agreements, "id", ("agreements",), "agreement id", problems)

    for index, raw in enumerate(raw_connections):
        if isinstance(raw, dict):
            check_connection(raw, ("connections", index), problems)

    result.calendars = build_calendars(_shaped(raw_calendars), ("calendars",), problems)

    for index, raw in enumerate(raw_agreements):
        if not isinstance(raw, dict):
            result.local_calendars.append({})
            continue
        path: Path = ("agreements", index)
        local = raw.get("calendars")
        local = _shaped(local) if isinstance(local, dict) else {}
        result.local_calendars.append(build_calendars(local, (*path, "calendars"), problems))
        check_agreement(raw, path, names, local, problems)


def _shaped(sources: dict[Any, Any]) -> dict[str, Any]:
    # Calendars whose outer shape is wrong are already a schema problem; the engine gets the rest.
    return {
        str(k): v
        for k, v in sources.items()
        if isinstance(v, dict)
        or (isinstance(v, list) and v and all(isinstance(i, dict) for i in v))
    }


def _load(text: str, source: str) -> SlaSyncConfig:
    analysis = _analyse(text)
    spec = analysis.spec
    if len(analysis.problems) or spec is None:
        raise ConfigError(analysis.problems.sorted(), source=source)
    top = {name: cal for name, cal in analysis.calendars.items() if cal is not None}
    policies = []
    for agreement, local in zip(spec.agreements, analysis.local_calendars, strict=True):
        visible = {**top, **{n: c for n, c in local.items() if c is not None}}
        policies.append(build_agreement(agreement, visible))
    return SlaSyncConfig(
        source=source,
        connections=tuple(spec.connections),
        calendars=top,
        agreements=tuple(spec.agreements),
        _policies=tuple(policies),
        worker=spec.worker,
        recipients=MappingProxyType(dict(spec.recipients)),
    )


# --------------------------------------------------------------------------- pydantic errors


def _translate(error: ErrorDetails, data: Any) -> tuple[Path, str]:
    """A pydantic error as (path in the document, message for ops).

    pydantic's ``loc`` also holds steps that are not in the document (the tag of a discriminated
    union, ``[key]`` for a mapping key); only steps that exist in the data are kept, plus a last
    step naming a missing key.
    """
    loc = error["loc"]
    path: list[str | int] = []
    node: Any = data
    for position, step in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, dict) and _has_key(node, step):
            key = _key(node, step)
            path.append(str(key))
            node = node[key]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            path.append(step)
            node = node[step]
        elif last and step != "[key]":
            path.append(step)
            node = None
    kind = error["type"]
    message = error["msg"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        path.append("kind")
        message = "kind must be hubspot or salesforce"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "too_short":
        minimum = (error.get("ctx") or {}).get("min_length", 1)
        message = f"needs at least {minimum} item{'' if minimum == 1 else 's'}"
    elif kind == "extra_forbidden":
        message = _unknown_key(str(path[-1]) if path else "")
    elif kind in ("value_error", "assertion_error"):
        message = message.split(", ", 1)[1] if ", " in message else message
    return tuple(path), message


def _is_cascade(error: ErrorDetails, data: Any) -> bool:
    """Whether ``error`` is only a consequence of other errors: pydantic counts the items of a
    list *after* validation, so a list whose only item is invalid is also "too short" although
    the document has the item (whose own problem is reported)."""
    if error["type"] != "too_short":
        return False
    node: Any = data
    found = False  # whether the last step is in the document: the container itself
    for step in error["loc"]:
        if isinstance(node, dict) and _has_key(node, step):
            node, found = node[_key(node, step)], True
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node, found = node[step], True
        else:
            found = False  # a step that is not in the data (a union tag)
    minimum = (error.get("ctx") or {}).get("min_length")
    if not (found and isinstance(node, list | dict) and isinstance(minimum, int)):
        return False
    return len(node) >= minimum


def _has_key(node: dict[Any, Any], step: str | int) -> bool:
    return step in node or str(step) in {str(k) for k in node}


def _key(node: dict[Any, Any], step: str | int) -> Any:
    if step in node:
        return step
    return next(k for k in node if str(k) == str(step))


def _unknown_key(key: str) -> str:
    if key.lower() in SECRET_KEYS:
        return f"unknown key {key!r}: credentials are named by {key}_env: <VARIABLE>"
    close = difflib.get_close_matches(key, _all_keys(), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}"


def _all_keys() -> list[str]:
    keys: set[str] = set()
    stack: list[type[BaseModel]] = [Spec]
    while stack:
        model = stack.pop()
        keys.update(model.model_fields)
        stack.extend(model.__subclasses__())
    return sorted(keys)
