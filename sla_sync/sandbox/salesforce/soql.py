# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""A SOQL subset: tokenizer, parser and a compiler to row predicates and sort keys. Pure (no I/O).

Covers what an incremental sync and its checks send: ``SELECT`` field lists with relationship paths
(``Owner.Name``) or ``COUNT()``; ``FROM`` one object; ``WHERE`` with ``AND``/``OR``/``NOT`` and
parentheses, ``= != <> < <= > >= IN NOT IN LIKE``, ``null``, ``true``/``false``, numbers, quoted
strings, unquoted date (``2026-11-20``) and datetime literals (``2026-11-20T18:00:00Z``, with
``.SSS`` and ``+hh:mm``/``+hhmm`` offsets), ``TODAY``/``YESTERDAY``/``LAST_N_DAYS:n``/
``NEXT_N_DAYS:n``; ``ORDER BY`` (``ASC``/``DESC``, ``NULLS FIRST|LAST``); ``LIMIT``; ``OFFSET``.
Child relationship subqueries in the field list (``(SELECT Id, Subject FROM Tasks WHERE ...
ORDER BY ... LIMIT n)``, one level deep) parse into :attr:`Query.subqueries`.

Keywords and names are case-insensitive, text comparisons too. Errors are :class:`SoqlError` with
Salesforce's ``errorCode`` (``MALFORMED_QUERY``, ``INVALID_FIELD``) and a message in its
``ERROR at Row:1:Column:N`` style. Field names are resolved by the caller (see :func:`compile_query`)
so this module knows nothing about schemas or storage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

KEYWORDS = frozenset(
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "OFFSET",
        "NULL",
        "TRUE",
        "FALSE",
        "GROUP",
        "HAVING",
        "FOR",
        "WITH",
        "USING",
        "SCOPE",
        "TYPEOF",
        "INCLUDES",
        "EXCLUDES",
    ]
)
_RELATIVE = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` is its ``errorCode``, ``message`` its text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    pos: int  # 0-based offset in the query

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field path as written (``("Owner", "Name")``) and where it starts in the query."""

    path: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Literal:
    """A filter value: ``kind`` is string, number, boolean, null, date, datetime or relative."""

    kind: str
    value: Any


@dataclass(frozen=True, slots=True)
class Condition:
    field: FieldRef
    op: str  # = != < <= > >= LIKE IN NOT IN
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class BoolExpr:
    op: str  # AND, OR, NOT
    items: tuple[Expr, ...]


Expr = Condition | BoolExpr


@dataclass(frozen=True, slots=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query. ``count_only`` is ``SELECT COUNT()``."""

    text: str
    fields: tuple[FieldRef, ...]
    sobject: str
    sobject_pos: int
    where: Expr | None
    order: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    count_only: bool
    # Child relationship subqueries ``(SELECT ... FROM Tasks)``: (plain fields before it, query);
    # a subquery's ``sobject`` is the relationship name.
    subqueries: tuple[tuple[int, Query], ...] = ()


def error_at(text: str, pos: int, code: str, detail: str) -> SoqlError:
    """An error whose message points at ``pos`` the way Salesforce does (caret under the line)."""
    snippet = " ".join(text.split("\n"))
    # Salesforce echoes a window of the query; the whole (single-line) query is close enough.
    return SoqlError(code, f"\n{snippet}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{detail}")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens. Raises :class:`SoqlError` (``MALFORMED_QUERY``) on bad input."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise error_at(text, pos, "MALFORMED_QUERY", f"unexpected token: '{text[pos]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def parse_datetime_literal(raw: str) -> datetime:
    """``2026-11-20T18:00:00Z`` / ``...00.000+0000`` / ``...00-08:00`` -> aware UTC datetime."""
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    elif raw[-5] in "+-" and raw[-3] != ":":
        raw = raw[:-2] + ":" + raw[-2:]
    return datetime.fromisoformat(raw).astimezone(UTC)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def fail(self, token: Token | None) -> SoqlError:
        if token is None:
            return error_at(
                self.text, len(self.text), "MALFORMED_QUERY", "unexpected token: '<EOF>'"
            )
        return error_at(
            self.text, token.pos, "MALFORMED_QUERY", f"unexpected token: '{token.text}'"
        )

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "ident" and token.upper in words:
            self.i += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise self.fail(self.peek())

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or token.kind != kind or (text is not None and token.text != text):
            raise self.fail(token)
        self.i += 1
        return token

    def field_ref(self) -> FieldRef:
        token = self.expect("ident")
        if token.upper in KEYWORDS:
            raise self.fail(token)
        return FieldRef(tuple(token.text.split(".")), token.pos)

    def parse(self) -> Query:
        query = self.select(nested=False)
        if self.peek() is not None:
            raise self.fail(self.peek())
        return query

    def select(self, *, nested: bool) -> Query:
        self.expect_keyword("SELECT")
        fields: list[FieldRef] = []
        subqueries: list[tuple[int, Query]] = []
        count_only = False
        head = self.peek()
        next_ = self.peek(1)
        if head and head.upper == "COUNT" and next_ and next_.text == "(":
            self.i += 2
            self.expect("punct", ")")
            count_only = True
        else:
            while True:
                tok = self.peek()
                if tok is not None and tok.text == "(":
                    if nested:
                        raise error_at(
                            self.text,
                            tok.pos,
                            "MALFORMED_QUERY",
                            "Nesting of semi join sub-selects is not supported",
                        )
                    self.i += 1
                    subqueries.append((len(fields), self.select(nested=True)))
                    self.expect("punct", ")")
                else:
                    fields.append(self.field_ref())
                tok = self.peek()
                if tok is None or tok.kind != "punct" or tok.text != ",":
                    break
                self.i += 1
        self.expect_keyword("FROM")
        obj = self.expect("ident")
        where = order = None
        limit = offset = None
        if self.keyword("WHERE"):
            where = self.disjunction()
        if self.keyword("ORDER"):
            self.expect_keyword("BY")
            order = self.order_items()
        if self.keyword("LIMIT"):
            limit = int(self.expect("number").text)
        if self.keyword("OFFSET"):
            offset = int(self.expect("number").text)
        return Query(
            text=self.text,
            fields=tuple(fields),
            sobject=obj.text,
            sobject_pos=obj.pos,
            where=where,
            order=tuple(order or ()),
            limit=limit,
            offset=offset,
            count_only=count_only,
            subqueries=tuple(subqueries),
        )

    def order_items(self) -> list[OrderItem]:
        items = []
        while True:
            ref = self.field_ref()
            descending = self.keyword("DESC")
            if not descending:
                self.keyword("ASC")
            nulls_last = descending  # Salesforce's default: nulls first ascending, last descending
            if self.keyword("NULLS"):
                if self.keyword("LAST"):
                    nulls_last = True
                else:
                    self.expect_keyword("FIRST")
                    nulls_last = False
            items.append(OrderItem(ref, descending, nulls_last))
            token = self.peek()
            if token is None or token.text != ",":
                return items
            self.i += 1

    def disjunction(self) -> Expr:
        items = [self.conjunction()]
        while self.keyword("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolExpr("OR", tuple(items))

    def conjunction(self) -> Expr:
        items = [self.unary()]
        while self.keyword("AND"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else BoolExpr("AND", tuple(items))

    def unary(self) -> Expr:
        if self.keyword("NOT"):
            return BoolExpr("NOT", (self.unary(),))
        token = self.peek()
        if token is not None and token.text == "(":
            self.i += 1
            inner = self.disjunction()
            self.expect("punct", ")")
            return inner
        return self.condition()

    def condition(self) -> Condition:
        ref = self.field_ref()
        token = self.peek()
        if token is None:
            raise self.fail(token)
        if token.kind == "op":
            self.i += 1
            op = "!=" if token.text == "<>" else token.text
            return Condition(ref, op, self.literal())
        if self.keyword("LIKE"):
            return Condition(ref, "LIKE", self.literal())
        negate = self.keyword("NOT")
        if self.keyword("IN"):
            self.expect("punct", "(")
            values = [self.literal()]
            while (tok := self.peek()) is not None and tok.text == ",":
                self.i += 1
                values.append(self.literal())
            self.expect("punct", ")")
            return Condition(ref, "NOT IN" if negate else "IN", tuple(values))
        raise self.fail(self.peek())

    def literal(self) -> Literal:
        token = self.peek()
        if token is None:
            raise self.fail(token)
        self.i += 1
        if token.kind == "string":
            body = token.text[1:-1]
            return Literal(
                "string",
                re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body),
            )
        if token.kind == "number":
            num = float(token.text) if "." in token.text else int(token.text)
            return Literal("number", num)
        if token.kind == "datetime":
            try:
                return Literal("datetime", parse_datetime_literal(token.text))
            except ValueError:
                raise error_at(
                    self.text,
                    token.pos,
                    "MALFORMED_QUERY",
                    f"line 1:{token.pos} Invalid datetime: {token.text}",
                ) from None
        if token.kind == "date":
            try:
                return Literal("date", date.fromisoformat(token.text))
            except ValueError:
                raise error_at(
                    self.text,
                    token.pos,
                    "MALFORMED_QUERY",
                    f"line 1:{token.pos} Invalid date: {token.text}",
                ) from None
        if token.kind == "ident":
            word = token.upper
            if word == "NULL":
                return Literal("null", None)
            if word in ("TRUE", "FALSE"):
                return Literal("boolean", word == "TRUE")
            if word in _RELATIVE:
                return Literal("relative", (_RELATIVE[word], 1))
            if word in ("LAST_N_DAYS", "NEXT_N_DAYS"):
                self.expect("punct", ":")
                n = int(self.expect("number").text)
                return Literal("relative", (-n, n + 1) if word == "LAST_N_DAYS" else (1, n))
        raise error_at(self.text, token.pos, "MALFORMED_QUERY", f"unexpected token: '{token.text}'")


def parse(text: str) -> Query:
    """Parse ``text``. Raises :class:`SoqlError` with ``MALFORMED_QUERY`` when it is not valid."""
    return _Parser(text).parse()


# --- compilation ---------------------------------------------------------------------------------

Row = Any
Getter = Callable[[Row], Any]
Predicate = Callable[[Row], bool]


@dataclass(frozen=True, slots=True)
class Resolved:
    """What the caller's resolver says about a field path: how to read it and its describe type."""

    getter: Getter
    type: str
    filterable: bool = True


Resolver = Callable[[FieldRef], Resolved]
_ID_TYPES = frozenset({"id", "reference"})
_TEXT_TYPES = frozenset(
    {"string", "picklist", "email", "phone", "textarea", "url", "combobox", "id", "reference"}
)


def _normalise_id(value: str) -> str:
    # Ids filter in 15 or 18 characters; compare the case-safe 18-char form case-insensitively.
    from sla_sync.sandbox.salesforce.ids import to18

    try:
        return to18(value).lower()
    except ValueError:
        return value.lower()


def _coerce(text: str, lit: Literal, ftype: str, ref: FieldRef, now: datetime) -> Any:
    """The literal as a Python value comparable with stored values of type ``ftype``."""
    quoted_temporal = lit.kind == "string" and ftype in ("datetime", "date")
    if quoted_temporal or (
        lit.kind == "string" and ftype in ("boolean", "int", "double", "currency", "percent")
    ):
        kind = {"datetime": "dateTime"}.get(ftype, ftype)
        raise error_at(
            text,
            ref.pos,
            "INVALID_FIELD",
            f"value of filter criterion for field '{ref.text}' must be of type {kind} and should not be enclosed in quotes",
        )
    if lit.kind == "null":
        return None
    if lit.kind == "relative":
        start_offset, days = lit.value
        start = datetime.combine(now.date(), datetime.min.time(), UTC) + timedelta(
            days=start_offset
        )
        if ftype == "date":
            return (start.date(), (start + timedelta(days=days)).date())
        return (start, start + timedelta(days=days))
    if ftype == "datetime" and lit.kind == "date":
        raise error_at(
            text,
            ref.pos,
            "INVALID_FIELD",
            f"value of filter criterion for field '{ref.text}' must be of type dateTime and should not be enclosed in quotes",
        )
    if ftype == "date" and lit.kind == "datetime":
        raise error_at(
            text,
            ref.pos,
            "INVALID_FIELD",
            f"value of filter criterion for field '{ref.text}' must be of type date and should not be enclosed in quotes",
        )
    if lit.kind == "string":
        return _normalise_id(lit.value) if ftype in _ID_TYPES else str(lit.value).lower()
    return lit.value


def _normalise_row_value(value: Any, ftype: str) -> Any:
    if isinstance(value, str):
        return value.lower()
    return value


def _like(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def _condition(text: str, cond: Condition, resolve: Resolver, now: datetime) -> Predicate:
    res = resolve(cond.field)
    if not res.filterable:
        raise error_at(
            text,
            cond.field.pos,
            "INVALID_FIELD",
            f"field '{cond.field.text}' can not be filtered in a query call",
        )
    get, ftype = res.getter, res.type
    op = cond.op
    if op in ("IN", "NOT IN"):
        assert isinstance(cond.value, tuple)
        members = {_coerce(text, v, ftype, cond.field, now) for v in cond.value}
        negate = op == "NOT IN"

        def in_pred(row: Row) -> bool:
            value = _normalise_row_value(get(row), ftype)
            return (value in members) != negate

        return in_pred
    assert isinstance(cond.value, Literal)
    lit = cond.value
    target = _coerce(text, lit, ftype, cond.field, now)
    if op == "LIKE":
        if ftype not in _TEXT_TYPES or lit.kind != "string":
            raise error_at(
                text, cond.field.pos, "INVALID_FIELD", f"invalid operator on {ftype} field: LIKE"
            )
        regex = _like(str(target))
        return lambda row: isinstance(v := get(row), str) and regex.fullmatch(v.lower()) is not None
    if lit.kind == "relative":
        low, high = target
        ops: dict[str, Callable[[Any], bool]] = {
            "=": lambda v: low <= v < high,
            "!=": lambda v: not low <= v < high,
            "<": lambda v: v < low,
            "<=": lambda v: v < high,
            ">": lambda v: v >= high,
            ">=": lambda v: v >= low,
        }
        check = ops[op]
        return lambda row: (v := get(row)) is not None and check(v)
    if target is None:
        if op not in ("=", "!="):
            raise error_at(
                text, cond.field.pos, "MALFORMED_QUERY", f"invalid operator with null: {op}"
            )
        return (lambda row: get(row) is None) if op == "=" else (lambda row: get(row) is not None)
    if op == "=":
        return lambda row: _normalise_row_value(get(row), ftype) == target
    if op == "!=":
        return lambda row: _normalise_row_value(get(row), ftype) != target
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    fn = compare[op]

    def ordered(row: Row) -> bool:
        value = _normalise_row_value(get(row), ftype)
        if value is None:
            return False
        try:
            return fn(value, target)
        except TypeError:
            return False

    return ordered


def compile_where(text: str, expr: Expr, resolve: Resolver, now: datetime) -> Predicate:
    """A predicate for ``expr``; ``resolve`` raises :class:`SoqlError` for unknown fields."""
    if isinstance(expr, Condition):
        return _condition(text, expr, resolve, now)
    parts = [compile_where(text, item, resolve, now) for item in expr.items]
    if expr.op == "NOT":
        inner = parts[0]
        return lambda row: not inner(row)
    if expr.op == "AND":
        return lambda row: all(p(row) for p in parts)
    return lambda row: any(p(row) for p in parts)


def sort_rows(rows: list[Row], order: Sequence[tuple[Getter, OrderItem]]) -> list[Row]:
    """``rows`` sorted by the ORDER BY items (stable; text case-insensitively; nulls per item)."""
    for get, item in reversed(order):
        values = list(map(get, rows))  # each value read once
        present = [r for r, v in zip(rows, values, strict=True) if v is not None]
        missing = [r for r, v in zip(rows, values, strict=True) if v is None]
        keys = [v.lower() if isinstance(v, str) else v for v in values if v is not None]
        # Sorting positions by key is stable, and reverse=True keeps ties in order, as list.sort does.
        ranked = sorted(range(len(keys)), key=keys.__getitem__, reverse=item.descending)
        present = [present[i] for i in ranked]
        rows = present + missing if item.nulls_last else missing + present
    return rows
