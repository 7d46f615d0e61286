"""Label and field selectors, parsed and matched like k8s.io/apimachinery.

Label selectors follow pkg/labels (lexer, parser, validation messages, canonical `String()`);
`metav1.LabelSelector` specs follow LabelSelectorAsSelector, where a nil selector matches
nothing and an empty one matches everything. Field selectors follow pkg/fields: `=`, `==`,
`!=` terms, comma-separated, with `\\` escapes; which fields a resource supports is the
caller's business (see `FieldSelector.requirements`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class SelectorError(ValueError):
    """A selector that does not parse or validate (the apiserver answers 400 BadRequest)."""


# --------------------------------------------------------------------------------------------
# Validation (k8s.io/apimachinery/pkg/util/validation)

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(f"^{_QNAME_FMT}$")
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and "
              "end with an alphanumeric character")
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character")
_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL + "(\\." + _DNS1123_LABEL + ")*"
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case "
                          "alphanumeric characters, '-' or '.', and must start and end with an "
                          "alphanumeric character")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def label_key_errors(key: str) -> list[str]:
    """validation.IsQualifiedName: `[prefix/]name`, as label keys must be."""
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errs.append("prefix part must be no more than 253 characters")
            if not _DNS1123_SUBDOMAIN_RE.match(prefix):
                errs.append("prefix part " + _regex_error(
                    _DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    else:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name",
                                                   "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QNAME_RE.match(name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name",
                                                "123-abc"))
    return errs


def label_value_errors(value: str) -> list[str]:
    """validation.IsValidLabelValue."""
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.match(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value",
                                 "12345"))
    return errs


def _quote(s: str) -> str:
    """Go's %q for the strings selectors contain."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _go_strings(values: Iterable[str]) -> str:
    return "[]string{" + ", ".join(_quote(v) for v in values) + "}"


def _aggregate(errs: list[str]) -> str:
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"


# --------------------------------------------------------------------------------------------
# Label selectors

EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST = "in", "notin", "exists", "!"
GREATER_THAN, LESS_THAN = "gt", "lt"

_BINARY_OPERATORS = [IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN]
_ALL_OPERATORS = _BINARY_OPERATORS + [EXISTS, DOES_NOT_EXIST]


def _parse_int64(s: str) -> int | None:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return None
    n = int(s)
    return n if -(2**63) <= n < 2**63 else None


@dataclass(frozen=True)
class Requirement:
    """One `key op values` term; construct through `requirement()` to get validation."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels or len(self.values) != 1:
                return False
            have, want = _parse_int64(labels[self.key]), _parse_int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{values}"


def requirement(key: str, operator: str, values: Iterable[str] = (),
                path: str = "") -> Requirement:
    """labels.NewRequirement: validate key, operator arity and values."""
    vals = tuple(values)
    errs: list[str] = []
    key_errs = label_key_errors(key)
    if key_errs:
        errs.append(f"{path}key: Invalid value: {_quote(key)}: {'; '.join(key_errs)}")
    values_path = f"{path}values"
    if operator in (IN, NOT_IN):
        if not vals:
            errs.append(f"{values_path}: Invalid value: {_go_strings(vals)}: for 'in', 'notin' "
                        "operators, values set can't be empty")
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(f"{values_path}: Invalid value: {_go_strings(vals)}: exact-match "
                        "compatibility requires one single value")
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(f"{values_path}: Invalid value: {_go_strings(vals)}: values set must be "
                        "empty for exists and does not exist")
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(f"{values_path}: Invalid value: {_go_strings(vals)}: for 'Gt', 'Lt' "
                        "operators, exactly one value is required")
        for i, v in enumerate(vals):
            if _parse_int64(v) is None:
                errs.append(f"{values_path}[{i}]: Invalid value: {_quote(v)}: for 'Gt', 'Lt' "
                            "operators, the value must be an integer")
    else:
        supported = ", ".join(_quote(o) for o in _ALL_OPERATORS)
        errs.append(f"{path}operator: Unsupported value: {_quote(operator)}: supported values: "
                    f"{supported}")
    for i, v in enumerate(vals):
        value_errs = label_value_errors(v)
        if value_errs:
            errs.append(f"{values_path}[{i}][{key}]: Invalid value: {_quote(v)}: "
                        f"{'; '.join(value_errs)}")
    if errs:
        raise SelectorError(_aggregate(errs))
    return Requirement(key, operator, vals)


class LabelSelector:
    """A parsed label selector: the AND of its requirements (sorted by key, like Go)."""

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False):
        self.requirements: tuple[Requirement, ...] = tuple(
            sorted(requirements, key=lambda r: r.key))
        self.nothing = nothing  # labels.Nothing(): what a nil metav1.LabelSelector means

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def match_nothing(cls) -> LabelSelector:
        return cls(nothing=True)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (matches every object)."""
        return not self.nothing and not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def requires_exact_match(self, key: str) -> str | None:
        """The single value `key` must have, if the selector pins it (Go RequiresExactMatch)."""
        for r in self.requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        if self.nothing:
            return "LabelSelector(<nothing>)"
        return f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LabelSelector) and self.nothing == other.nothing
                and self.requirements == other.requirements)

    def __hash__(self) -> int:
        return hash((self.nothing, self.requirements))


# Lexer tokens
_ERROR, _END, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _ID, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(14)
_LITERALS = {")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "in": _IN,
             "<": _LT, "!=": _NEQ, "notin": _NOTIN, "(": _OPEN}
_SPECIAL = set("=!(),><")
_WHITESPACE = set(" \t\r\n")


def _lex(text: str) -> list[tuple[int, str]]:
    items: list[tuple[int, str]] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= n:
            items.append((_END, ""))
            return items
        if text[pos] in _SPECIAL:
            buffer, last = "", None
            while pos < n and text[pos] in _SPECIAL:
                buffer += text[pos]
                if buffer in _LITERALS:
                    last = (_LITERALS[buffer], buffer)
                    pos += 1
                elif last is not None:
                    break
                else:
                    pos += 1
            items.append(last or (_ERROR, f"error expected: keyword found '{buffer}'"))
            continue
        start = pos
        while pos < n and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
            pos += 1
        word = text[start:pos]
        items.append((_LITERALS.get(word, _ID), word))


class _Parser:
    """Port of the pkg/labels recursive-descent parser, error messages included."""

    def __init__(self, text: str):
        self.items = _lex(text)
        self.pos = 0

    def peek(self, values: bool = True) -> tuple[int, str]:
        tok, lit = self.items[self.pos]
        if values and tok in (_IN, _NOTIN):
            tok = _ID
        return tok, lit

    def take(self, values: bool = True) -> tuple[int, str]:
        item = self.peek(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.peek()
            if tok in (_ID, _NOT):
                try:
                    reqs.append(self.requirement())
                except SelectorError as exc:
                    raise SelectorError(f"unable to parse requirement: {exc}") from None
                tok, lit = self.take()
                if tok == _END:
                    return reqs
                if tok == _COMMA:
                    tok2, lit2 = self.peek()
                    if tok2 not in (_ID, _NOT):
                        raise SelectorError(f"found '{lit2}', expected: identifier after ','")
                else:
                    raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            elif tok == _END:
                return reqs
            else:
                raise SelectorError(
                    f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        operator = None
        tok, lit = self.take()
        if tok == _NOT:
            operator = DOES_NOT_EXIST
            tok, lit = self.take()
        if tok != _ID:
            raise SelectorError(f"found '{lit}', expected: identifier")
        key_errs = label_key_errors(lit)
        if key_errs:
            raise SelectorError(f"<nil>: Invalid value: {_quote(lit)}: {'; '.join(key_errs)}")
        if self.peek()[0] in (_END, _COMMA):
            return requirement(lit, operator or EXISTS)
        if operator == DOES_NOT_EXIST:
            return requirement(lit, operator)
        key = lit
        tok, lit = self.take(values=False)
        ops = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER_THAN, _LT: LESS_THAN,
               _NOTIN: NOT_IN, _NEQ: NOT_EQUALS}
        if tok not in ops:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_GO_BINARY_NAMES)}")
        operator = ops[tok]
        values = self.set_values() if operator in (IN, NOT_IN) else self.exact_value()
        return requirement(key, operator, sorted(values))

    def set_values(self) -> set[str]:
        tok, lit = self.take()
        if tok != _OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok in (_ID, _COMMA):
            values = self.identifiers()
            if self.take()[0] != _CLOSE:
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSE:
            self.take()
            return {""}
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.take()
            if tok == _ID:
                values.add(lit)
                tok2, lit2 = self.peek()
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not values:
                    values.add("")
                tok2, _ = self.peek()
                if tok2 in (_CLOSE, _COMMA):
                    values.add("")
                    if tok2 == _CLOSE:
                        return values
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok, _ = self.peek()
        if tok in (_END, _COMMA):
            return {""}
        tok, lit = self.take()
        if tok == _ID:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


# selection.Operator strings, as Go prints them in "expected:" messages
_GO_BINARY_NAMES = ["in", "notin", "=", "==", "!=", "gt", "lt"]


def parse_label_selector(text: str | None) -> LabelSelector:
    """labels.Parse: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`.

    An empty string selects everything.
    """
    return LabelSelector(_Parser(text or "").parse())


_SPEC_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_spec(spec: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector: None matches nothing, `{}` matches everything."""
    if spec is None:
        return LabelSelector.match_nothing()
    match_labels = spec.get("matchLabels") or {}
    expressions = spec.get("matchExpressions") or []
    reqs: list[Requirement] = []
    for key, value in match_labels.items():
        reqs.append(requirement(key, EQUALS, [_as_str(value)]))
    for expr in expressions:
        op = expr.get("operator")
        if op not in _SPEC_OPERATORS:
            raise SelectorError(f"{_quote(str(op or ''))} is not a valid label selector "
                                "operator")
        reqs.append(requirement(expr.get("key") or "", _SPEC_OPERATORS[op],
                                [_as_str(v) for v in expr.get("values") or []]))
    return LabelSelector(reqs)


def _as_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def format_selector(spec: Mapping[str, Any] | None, empty: str = "") -> str:
    """The selector string the apiserver reports (Scale `status.selector`), e.g.
    `app=web,pod-template-hash=5d59d67564` or `tier in (a,b)`; sorted by key.

    `empty` is returned for nil/empty selectors; printers pass `"<none>"` as
    metav1.FormatLabelSelector does. Invalid specs raise SelectorError.
    """
    text = str(selector_from_spec(spec))
    return text or empty


# --------------------------------------------------------------------------------------------
# Field selectors

# Fields the apiserver derives from booleans, which read "false" when unset.
_BOOL_FIELDS = {"spec.unschedulable", "spec.hostNetwork"}
# Field-selector names that are not the JSON path of the value.
_FIELD_PATHS = {"source": "source.component"}


def _escape_field_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape_field_value(s: str) -> str:
    if not any(c in s for c in "\\,="):
        return s
    out: list[str] = []
    slash = False
    for c in s:
        if slash:
            if c not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            slash = False
        elif c == "\\":
            slash = True
        elif c in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {c}")
        else:
            out.append(c)
    if slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    if not text:
        return []
    terms, start, slash = [], 0, False
    for i, c in enumerate(text):
        if slash:
            slash = False
        elif c == "\\":
            slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def field_value(obj: Mapping[str, Any], name: str) -> str:
    """The string a field selector compares for `name` (dotted path; "" when missing)."""
    value: Any = obj
    for part in _FIELD_PATHS.get(name, name).split("."):
        if not isinstance(value, Mapping) or part not in value:
            value = None
            break
        value = value[part]
    if value is None:
        return "false" if name in _BOOL_FIELDS else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    return ""  # maps and lists are not selectable


class FieldSelector:
    """The AND of `field=value` / `field!=value` terms, sorted like Go's parser sorts them."""

    def __init__(self, requirements: Iterable[tuple[str, str, str]] = ()):
        # (field, operator, value) with operator one of "=", "==", "!="
        self.requirements: list[tuple[str, str, str]] = list(requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    @property
    def fields(self) -> set[str]:
        return {f for f, _, _ in self.requirements}

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for name, op, value in self.requirements:
            equal = field_value(obj, name) == value
            if equal == (op == "!="):
                return False
        return True

    def requires_exact_match(self, name: str) -> str | None:
        """The value `name` must equal, if some `=`/`==` term pins it (Go RequiresExactMatch)."""
        for f, op, value in self.requirements:
            if f == name and op != "!=":
                return value
        return None

    def __str__(self) -> str:
        return ",".join(f"{f}{'!=' if op == '!=' else '='}{_escape_field_value(v)}"
                        for f, op, v in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSelector) and self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash(tuple(self.requirements))


def parse_field_selector(text: str | None) -> FieldSelector:
    """fields.ParseSelector: comma-separated `f=v`, `f==v`, `f!=v`; empty selects everything."""
    text = text or ""
    reqs = []
    for term in sorted(_split_terms(text)):
        if not term:
            continue
        for i in range(len(term)):
            op = next((o for o in ("!=", "==", "=") if term.startswith(o, i)), None)
            if op:
                reqs.append((term[:i], op, _unescape_field_value(term[i + len(op):])))
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
    return FieldSelector(reqs)


# Field labels each kind's registry accepts (AddFieldLabelConversionFunc / GetAttrs upstream);
# metadata.name and metadata.namespace work everywhere.
FIELD_LABELS: dict[str, frozenset[str]] = {
    "pods": frozenset({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                       "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                       "status.podIP", "status.podIPs", "status.nominatedNodeName"}),
    "events": frozenset({"involvedObject.kind", "involvedObject.namespace",
                         "involvedObject.name", "involvedObject.uid",
                         "involvedObject.apiVersion", "involvedObject.resourceVersion",
                         "involvedObject.fieldPath", "reason", "reportingComponent", "source",
                         "type"}),
    "nodes": frozenset({"spec.unschedulable"}),
    "namespaces": frozenset({"status.phase"}),
    "secrets": frozenset({"type"}),
    "services": frozenset({"spec.clusterIP", "spec.type"}),
    "replicasets": frozenset({"status.replicas"}),
    "jobs": frozenset({"status.successful"}),
}
_COMMON_FIELD_LABELS = frozenset({"metadata.name", "metadata.namespace"})


def check_field_labels(key: str, selector: FieldSelector) -> None:
    """Raise SelectorError for a field the kind cannot be selected by, worded like the
    apiserver (`field label not supported: spec.bogus`)."""
    allowed = FIELD_LABELS.get(key, frozenset()) | _COMMON_FIELD_LABELS
    for name, _, _ in selector.requirements:
        if name not in allowed:
            raise SelectorError(f"field label not supported: {name}")
