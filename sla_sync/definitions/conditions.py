"""The ``when`` notation and what can be proved about it without seeing a lead.

Syntax: clauses joined by ``and`` (there is no ``or``: write one rule per alternative)::

    lead_score >= 80
    rating == "Hot" and country not in [US, CA]
    lead_source in [demo_request, free_trial]
    phone exists            # or: phone missing
    always                  # the same as leaving ``when`` out

Operators ``== != > >= < <=``, ``in [..]``, ``not in [..]``, ``exists``, ``missing``. A value is a
bare word, a number, or a quoted string (``"Sales and Marketing"``). An unquoted number after
``==``/``!=`` compares numerically (``score == 80`` matches ``"80.0"``); quote it to compare text.
List members always compare as text, case-insensitively. Semantics are those of
:mod:`sla_sync.sla.rules`; the analysis below follows them and is *sound*: it only reports
"never matches" or "implies" when that holds for every possible lead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import PlainValidator

from sla_sync.sla.policy import Condition, Operator

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>==|!=|>=|<=|>|<|=)
    | (?P<punct>[\[\],])
    | (?P<word>[^\s\[\],"'=!<>]+)
    | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_ORDERING = {Operator.GT, Operator.GE, Operator.LT, Operator.LE}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # str | op | punct | word | end
    text: str


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:  # only trailing whitespace is left
            break
        pos = match.end()
        kind = match.lastgroup or "bad"
        token = match.group(kind)
        if kind == "bad":
            raise ValueError(f"unexpected character {token!r}")
        if kind == "str":
            token = re.sub(r"\\(.)", r"\1", token[1:-1])
        out.append(_Tok(kind, token))
    out.append(_Tok("end", ""))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text.lower() == word

    def clause(self) -> Condition:
        tok = self.take()
        if tok.kind != "word" or not _FIELD.match(tok.text):
            raise ValueError(f"expected a field name, found {_show(tok)}")
        name = tok.text
        if self.is_word("exists") or self.is_word("missing"):
            op = Operator.EXISTS if self.take().text.lower() == "exists" else Operator.MISSING
            return Condition(name, op)
        if self.is_word("not"):
            self.take()
            if not self.is_word("in"):
                raise ValueError(f"expected 'in' after '{name} not', found {_show(self.peek())}")
            self.take()
            return Condition(name, Operator.NOT_IN, self.members())
        if self.is_word("in"):
            self.take()
            return Condition(name, Operator.IN, self.members())
        tok = self.take()
        if tok.kind != "op":
            raise ValueError(
                f"expected an operator (== != > >= < <= in, not in, exists, missing) after "
                f"{name!r}, found {_show(tok)}"
            )
        if tok.text == "=":
            raise ValueError(f"'{name} =': write '==' to compare")
        op = Operator(tok.text)
        value = self.take()
        if value.kind not in ("word", "str"):
            raise ValueError(f"expected a value after '{name} {op.value}', found {_show(value)}")
        number = _as_number(value.text) if value.kind == "word" else None
        if op in _ORDERING:
            if number is None:
                raise ValueError(f"'{name} {op.value}' needs a number, found {_show(value)}")
            return Condition(name, op, number)
        return Condition(name, op, number if number is not None else value.text)

    def members(self) -> tuple[str, ...]:
        tok = self.take()
        if tok.kind != "punct" or tok.text != "[":
            raise ValueError(f"expected a list like [a, b] after 'in', found {_show(tok)}")
        items: list[str] = []
        while True:
            tok = self.take()
            if tok.kind == "punct" and tok.text == "]":
                return tuple(items)
            if tok.kind not in ("word", "str"):
                raise ValueError(f"expected a list member or ']', found {_show(tok)}")
            items.append(tok.text)
            sep = self.take()
            if sep.kind == "punct" and sep.text == "]":
                return tuple(items)
            if not (sep.kind == "punct" and sep.text == ","):
                raise ValueError(f"expected ',' or ']' in the list, found {_show(sep)}")


def _show(tok: _Tok) -> str:
    return "the end" if tok.kind == "end" else repr(tok.text)


def _as_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_when(value: Any) -> tuple[Condition, ...]:
    """Parse a ``when`` value (``None``/omitted and ``always`` give the empty conjunction)."""
    if value is None:
        return ()
    if isinstance(value, bool):
        raise ValueError("write `always` (or leave `when` out) instead of true/false")
    if not isinstance(value, str):
        raise ValueError('expected a condition such as "lead_score >= 80"')
    text = value.strip()
    if text.lower() == "always":
        return ()
    if not text:
        raise ValueError("empty condition: leave `when` out or write `always`")
    parser = _Parser(text)
    clauses: list[Condition] = []
    while True:
        try:
            clauses.append(parser.clause())
        except ValueError as exc:
            raise ValueError(f"clause {len(clauses) + 1} of {text!r}: {exc}") from None
        tok = parser.take()
        if tok.kind == "end":
            return tuple(clauses)
        if tok.kind == "word" and tok.text.lower() == "or":
            raise ValueError("'or' is not supported: write one rule per alternative")
        if not (tok.kind == "word" and tok.text.lower() == "and"):
            raise ValueError(
                f"clause {len(clauses)} of {text!r}: expected 'and' or the end, found {_show(tok)}"
            )


def format_when(conditions: Sequence[Condition]) -> str:
    """Conditions back in the notation (``always`` for none)."""
    if not conditions:
        return "always"
    parts = []
    for c in conditions:
        if c.op in (Operator.EXISTS, Operator.MISSING):
            parts.append(f"{c.field} {c.op.value}")
        elif isinstance(c.value, tuple):
            parts.append(f"{c.field} {c.op.value} [{', '.join(c.value)}]")
        elif isinstance(c.value, float):
            parts.append(f"{c.field} {c.op.value} {c.value:g}")
        else:
            parts.append(f'{c.field} {c.op.value} "{c.value}"')
    return " and ".join(parts)


When = Annotated[tuple[Condition, ...], PlainValidator(parse_when)]


# --------------------------------------------------------------------------- analysis


def _fold(value: object) -> str:
    return str(value).strip().casefold()


@dataclass
class _Field:
    """What a conjunction says about one field (everything is a necessary condition)."""

    present: bool = False  # some clause needs a non-empty value
    missing: bool = False
    numeric: bool = False  # some clause needs a numeric value (ordering or numeric ==)
    lo: float = -math.inf
    lo_incl: bool = True
    hi: float = math.inf
    hi_incl: bool = True
    not_numbers: set[float] = field(default_factory=set)  # numeric !=
    allowed: set[str] | None = None  # text the value must be one of (in / text ==)
    excluded: set[str] = field(default_factory=set)  # text it must not be (not in / text !=)

    def add(self, c: Condition) -> None:
        op, value = c.op, c.value
        if op is Operator.EXISTS:
            self.present = True
        elif op is Operator.MISSING:
            self.missing = True
        elif op in _ORDERING or (op is Operator.EQ and isinstance(value, float)):
            assert isinstance(value, float)
            self.present = self.numeric = True
            if op in (Operator.GT, Operator.GE, Operator.EQ):
                self._raise_lo(value, op is not Operator.GT)
            if op in (Operator.LT, Operator.LE, Operator.EQ):
                self._lower_hi(value, op is not Operator.LT)
        elif op is Operator.NE and isinstance(value, float):
            self.not_numbers.add(value)
        elif op in (Operator.EQ, Operator.IN):
            members = {_fold(v) for v in (value if isinstance(value, tuple) else (value,))}
            self.present = True
            self.allowed = members if self.allowed is None else self.allowed & members
        elif op in (Operator.NE, Operator.NOT_IN):
            self.excluded |= {_fold(v) for v in (value if isinstance(value, tuple) else (value,))}

    def _raise_lo(self, value: float, incl: bool) -> None:
        if value > self.lo or (value == self.lo and not incl):
            self.lo, self.lo_incl = value, incl

    def _lower_hi(self, value: float, incl: bool) -> None:
        if value < self.hi or (value == self.hi and not incl):
            self.hi, self.hi_incl = value, incl

    def _in_interval(self, x: float) -> bool:
        above = x > self.lo or (x == self.lo and self.lo_incl)
        below = x < self.hi or (x == self.hi and self.hi_incl)
        return above and below and x not in self.not_numbers

    def possible_text(self) -> set[str] | None:
        """The finite set of values the field can take, or ``None`` when unbounded."""
        if self.allowed is None:
            return None
        values = self.allowed - self.excluded
        if self.numeric:
            values = {
                v for v in values if (n := _as_number(v)) is not None and self._in_interval(n)
            }
        return values

    def contradiction(self) -> str | None:
        if self.missing and self.present:
            return "requires the field to be both set and missing"
        if self.numeric:
            empty = self.lo > self.hi or (
                self.lo == self.hi and not (self.lo_incl and self.hi_incl)
            )
            if empty or (self.lo == self.hi and self.lo in self.not_numbers):
                return "no number satisfies all the comparisons"
        possible = self.possible_text()
        if possible is not None and not possible:
            return "no value satisfies all of its clauses"
        return None


def _fields(conditions: Iterable[Condition]) -> dict[str, _Field]:
    out: dict[str, _Field] = {}
    for c in conditions:
        out.setdefault(c.field, _Field()).add(c)
    return out


def contradiction(conditions: Sequence[Condition]) -> str | None:
    """Why no lead can satisfy every condition, or ``None`` when some lead can (as far as can be
    proved: a ``None`` is not a promise that a lead exists)."""
    for c in conditions:
        if c.op is Operator.IN and not c.value:
            return f"{c.field} in []: an empty list matches nothing"
    for name, info in _fields(conditions).items():
        reason = info.contradiction()
        if reason:
            return f"{name}: {reason}"
    return None


def implies(conditions: Sequence[Condition], other: Sequence[Condition]) -> bool:
    """Whether every lead satisfying ``conditions`` satisfies ``other`` (sound, not complete)."""
    known = _fields(conditions)
    return all(_implies_one(known, c) for c in other)


def _implies_one(known: dict[str, _Field], c: Condition) -> bool:
    info = known.get(c.field)
    if info is None:
        return False
    op, value = c.op, c.value
    possible = info.possible_text()
    if op is Operator.EXISTS:
        return info.present
    if op is Operator.MISSING:
        return info.missing
    if op in _ORDERING or (op is Operator.EQ and isinstance(value, float)):
        assert isinstance(value, float)
        target = _Field()
        target.add(c)
        if info.numeric:
            return _interval_within(info, target)
        if possible is not None:  # every allowed text is a number inside the target
            return all(
                (n := _as_number(v)) is not None and target._in_interval(n) for v in possible
            )
        return False
    if op is Operator.NE and isinstance(value, float):
        if info.missing:
            return True
        return info.numeric and not _interval_meets(info, value)
    members = {_fold(v) for v in (value if isinstance(value, tuple) else (value,))}
    if op in (Operator.EQ, Operator.IN):
        return possible is not None and possible <= members
    # NE / NOT_IN as text: absent values and values outside ``members`` satisfy it.
    if info.missing or members <= info.excluded:
        return True
    return possible is not None and not (possible & members)


def _interval_within(a: _Field, b: _Field) -> bool:
    lo_ok = a.lo > b.lo or (a.lo == b.lo and (b.lo_incl or not a.lo_incl))
    hi_ok = a.hi < b.hi or (a.hi == b.hi and (b.hi_incl or not a.hi_incl))
    return lo_ok and hi_ok


def _interval_meets(a: _Field, x: float) -> bool:
    return a._in_interval(x)
