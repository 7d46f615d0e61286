"""Validation as the real apiserver words it, so kubectl prints the same errors.

Three layers, each mirroring a stage of the real request path:

* `unknown_fields` / `prune_unknown_fields`: strict decoding (`fieldValidation=Strict|Warn|Ignore`),
  walking kubernetes_validate's *strict* schemas (every object there has
  `additionalProperties: false`).
* schema checks: a cached jsonschema validator over the *plain* 1.33 schemas; type errors stand
  for what the real server fails at decode time, `required` ones fill gaps the semantic rules
  below do not already report.
* semantic rules ported from `pkg/apis/{core,apps,autoscaling,batch}/validation`: same checks,
  same order, same detail strings, and bad values rendered the way `field.Error.ErrorBody()`
  renders them (`%q` strings, `%#v` maps and structs).

`validate()` returns `errors.Cause`s; the registry turns them into the 422 `Status`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import importlib_resources
import jsonschema
from referencing import Registry, Resource

from .errors import Cause
from .resources import by_key

__all__ = [
    "SCHEMA_VERSION",
    "go_quote",
    "go_string_map",
    "prune_unknown_fields",
    "strict_decoding_message",
    "unknown_field_warning",
    "unknown_fields",
    "validate",
]

SCHEMA_VERSION = "1.33.0"

# ==== Go value rendering (field.Error.ErrorBody) ================================================
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(s: str) -> str:
    """strconv.Quote / %q: Go escapes, printable Unicode kept as is."""
    out = []
    for ch in s:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def go_string_map(m: dict | None) -> str:
    """%#v of a map[string]string: sorted keys, `", "` between entries, nil shown as such."""
    if m is None:
        return "map[string]string(nil)"
    items = ", ".join(f"{go_quote(str(k))}:{go_quote(str(v))}" for k, v in sorted(m.items()))
    return "map[string]string{" + items + "}"


def _go_strings(values: list | None) -> str:
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(str(v)) for v in values) + "}"


def go_selector(sel: dict | None) -> str:
    """%#v of a metav1.LabelSelector (the value behind a *LabelSelector)."""
    if sel is None:
        return "null"
    exprs = sel.get("matchExpressions")
    if exprs is None:
        exprs_s = "[]v1.LabelSelectorRequirement(nil)"
    else:
        exprs_s = "[]v1.LabelSelectorRequirement{" + ", ".join(
            f"v1.LabelSelectorRequirement{{Key:{go_quote(e.get('key') or '')}, "
            f"Operator:{go_quote(e.get('operator') or '')}, Values:{_go_strings(e.get('values'))}}}"
            for e in exprs) + "}"
    return f"v1.LabelSelector{{MatchLabels:{go_string_map(sel.get('matchLabels'))}, MatchExpressions:{exprs_s}}}"


def go_intstr(v: Any) -> str:
    """%#v of an intstr.IntOrString (Type 0 = Int, 1 = String)."""
    if isinstance(v, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(v)}}}"
    return f"intstr.IntOrString{{Type:0, IntVal:{int(v or 0)}, StrVal:\"\"}}"


def _go_service_port(p: dict) -> str:
    """%#v of the core.ServicePort key used for duplicate (protocol, port) detection."""
    return (f"core.ServicePort{{Name:\"\", Protocol:{go_quote(p.get('protocol') or '')}, "
            f"AppProtocol:(*string)(nil), Port:{int(p.get('port') or 0)}, "
            f"TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}")


def go_value(v: Any) -> str:
    """%v / %q for the simple values most validators report."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, dict):
        return go_string_map(v)
    return str(v)


# ==== causes (field.Required, field.Invalid, ...) ===============================================
def _detail(body: str, detail: str) -> str:
    return f"{body}: {detail}" if detail else body


def required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", _detail("Required value", detail), path)


def invalid(path: str, rendered: str, detail: str) -> Cause:
    """field.Invalid with an already rendered bad value (see go_* helpers)."""
    return Cause("FieldValueInvalid", _detail(f"Invalid value: {rendered}", detail), path)


def not_supported(path: str, rendered: str, valid: Iterable[str]) -> Cause:
    detail = "supported values: " + ", ".join(go_quote(v) for v in valid)
    return Cause("FieldValueNotSupported", f"Unsupported value: {rendered}: {detail}", path)


def required_one_of(value: str | None, path: str, valid: Iterable[str]) -> list[Cause]:
    """Go's Required-then-NotSupported pair that most enum fields share; unset or "" is Required."""
    if not value:
        return [required(path)]
    return [] if value in valid else [not_supported(path, go_quote(value), valid)]


def duplicate(path: str, rendered: str) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {rendered}", path)


def forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", _detail("Forbidden", detail), path)


def not_found(path: str, rendered: str) -> Cause:
    return Cause("FieldValueNotFound", f"Not found: {rendered}", path)


def too_long(path: str, max_bytes: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: must have at most {max_bytes} bytes", path)


def _nonneg(value: Any, path: str) -> list[Cause]:
    """ValidateNonnegativeField."""
    if isinstance(value, int) and value < 0:
        return [invalid(path, str(value), "must be greater than or equal to 0")]
    return []


# ==== names, labels (k8s.io/apimachinery/pkg/util/validation) ===================================
def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + \
        f"regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + "(\\." + _LABEL_FMT + ")*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_LABEL_RE = re.compile(f"^{_LABEL_FMT}$")
_SUBDOMAIN_RE = re.compile(f"^{_SUBDOMAIN_FMT}$")
_DNS1035_RE = re.compile(f"^{_DNS1035_FMT}$")
_QNAME_RE = re.compile(f"^{_QNAME_FMT}$")
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
              "'-', and must start and end with an alphanumeric character")
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric character")
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character")
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
              "with an alphanumeric character")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, "
                    "'-', '_' or '.', and must start and end with an alphanumeric character")


def is_dns1123_label(v: str) -> list[str]:
    errs = [_max_len(63)] if len(v) > 63 else []
    if not _LABEL_RE.match(v):
        errs.append("must not contain dots" if _SUBDOMAIN_RE.match(v)
                    else _regex_error(_LABEL_MSG, _LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(v: str) -> list[str]:
    errs = [_max_len(253)] if len(v) > 253 else []
    if not _SUBDOMAIN_RE.match(v):
        errs.append(_regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(v: str) -> list[str]:
    errs = [_max_len(63)] if len(v) > 63 else []
    if not _DNS1035_RE.match(v):
        errs.append(_regex_error(_DNS1035_MSG, _DNS1035_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(v: str) -> list[str]:
    parts = v.split("/")
    errs: list[str] = []
    if len(parts) > 2:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix)]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _QNAME_RE.match(name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_label_value(v: str) -> list[str]:
    errs = [_max_len(63)] if len(v) > 63 else []
    if not _LABEL_VALUE_RE.match(v):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_valid_port_name(v: str) -> list[str]:
    errs = [_max_len(15)] if len(v) > 15 else []
    if not re.fullmatch(r"[-a-z0-9]+", v):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", v):
        errs.append("must contain at least one letter (a-z)")
    if "--" in v:
        errs.append("must not contain consecutive hyphens")
    if v and (v[0] == "-" or v[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


_PORT_RANGE = "must be between 1 and 65535, inclusive"


def _port_num(value: Any, path: str) -> list[Cause]:
    if not isinstance(value, int) or not 1 <= value <= 65535:
        return [invalid(path, go_value(value if value is not None else 0), _PORT_RANGE)]
    return []


def _port_num_or_name(value: Any, path: str) -> list[Cause]:
    """ValidatePortNumOrName."""
    if isinstance(value, str):
        return [invalid(path, go_quote(value), m) for m in is_valid_port_name(value)]
    return _port_num(value or 0, path)


def _mask_trailing_dash(name: str) -> str:
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


NameFn = Callable[[str], list[str]]


def _name_errors(fn: NameFn, name: str, prefix: bool) -> list[str]:
    return fn(_mask_trailing_dash(name) if prefix else name)


def validate_labels(labels: dict | None, path: str) -> list[Cause]:
    out: list[Cause] = []
    for k, v in (labels or {}).items():
        out += [invalid(path, go_quote(k), m) for m in is_qualified_name(k)]
        out += [invalid(path, go_quote(str(v)), m) for m in is_label_value(str(v) if v is not None else "")]
    return out


def validate_annotations(annotations: dict | None, path: str) -> list[Cause]:
    out: list[Cause] = []
    total = 0
    for k, v in (annotations or {}).items():
        out += [invalid(path, go_quote(k), m) for m in is_qualified_name(k.lower())]
        total += len(k) + len(v or "")
    if total > 256 * 1024:
        out.append(too_long(path, 256 * 1024))
    return out


def validate_object_meta(md: dict, namespaced: bool, name_fn: NameFn, path: str = "metadata") -> list[Cause]:
    """ValidateObjectMeta (apimachinery api/validation/objectmeta.go)."""
    out: list[Cause] = []
    generate = md.get("generateName") or ""
    if generate:
        out += [invalid(f"{path}.generateName", go_quote(generate), m)
                for m in _name_errors(name_fn, generate, True)]
    name = md.get("name") or ""
    if not name:
        out.append(required(f"{path}.name", "name or generateName is required"))
    else:
        out += [invalid(f"{path}.name", go_quote(name), m) for m in name_fn(name)]
    if namespaced:
        ns = md.get("namespace") or ""
        if not ns:
            out.append(required(f"{path}.namespace"))
        else:
            out += [invalid(f"{path}.namespace", go_quote(ns), m) for m in is_dns1123_label(ns)]
    out += _nonneg(md.get("generation"), f"{path}.generation")
    out += validate_labels(md.get("labels"), f"{path}.labels")
    out += validate_annotations(md.get("annotations"), f"{path}.annotations")
    return out


# ==== label selectors =============================================================================
_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(sel: dict | None, path: str) -> list[Cause]:
    if sel is None:
        return []
    out = validate_labels(sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(sel.get("matchExpressions") or []):
        p = f"{path}.matchExpressions[{i}]"
        op, values = expr.get("operator") or "", expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                out.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                out.append(forbidden(f"{p}.values",
                                     "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            out.append(invalid(f"{p}.operator", go_quote(op), "not a valid selector operator"))
        key = expr.get("key") or ""
        out += [invalid(f"{p}.key", go_quote(key), m) for m in is_qualified_name(key)]
        for j, value in enumerate(values):
            out += [invalid(f"{p}.values[{j}]", go_quote(value), m) for m in is_label_value(value)]
    return out


def _selector_parses(sel: dict | None) -> bool:
    return all((e.get("operator") in _SELECTOR_OPS) for e in (sel or {}).get("matchExpressions") or [])


def selector_is_empty(sel: dict | None) -> bool:
    """A non-nil selector without requirements selects everything (labels.Everything)."""
    return sel is not None and not sel.get("matchLabels") and not sel.get("matchExpressions")


def selector_matches(sel: dict | None, labels: dict | None) -> bool:
    """metav1.LabelSelectorAsSelector(sel).Matches(labels); a nil selector matches nothing."""
    if sel is None:
        return False
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        present = key in labels
        if (op == "In" and not (present and labels[key] in values)) or \
                (op == "NotIn" and present and labels[key] in values) or \
                (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


# ==== quantities (requests <= limits) =============================================================
_SUFFIX = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
           "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
           "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}
_QTY_RE = re.compile(r"^([+-]?[0-9.]+)([eE][-+]?[0-9]+|[a-zA-Z]*)$")


def parse_quantity(q: Any) -> Decimal | None:
    if isinstance(q, bool):
        return None
    if isinstance(q, int | float):
        return Decimal(str(q))
    m = _QTY_RE.match(str(q).strip())
    if not m:
        return None
    number, suffix = m.groups()
    try:
        if suffix[:1] in ("e", "E") and suffix[1:].lstrip("+-").isdigit():
            return Decimal(number + suffix)
        if suffix not in _SUFFIX:
            return None
        return Decimal(number) * Decimal(_SUFFIX[suffix])
    except InvalidOperation:
        return None


# ==== PodSpec (pkg/apis/core/validation) =========================================================
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_OVERCOMMIT = ("cpu", "memory", "ephemeral-storage")


def _container_ports(ports: list, path: str) -> list[Cause]:
    out: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports or []):
        p = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                out += [invalid(f"{p}.name", go_quote(name), m) for m in msgs]
            elif name in names:
                out.append(duplicate(f"{p}.name", go_quote(name)))
            else:
                names.add(name)
        if not port.get("containerPort"):
            out.append(required(f"{p}.containerPort"))
        else:
            out += _port_num(port["containerPort"], f"{p}.containerPort")
        if port.get("hostPort"):
            out += _port_num(port["hostPort"], f"{p}.hostPort")
        out += required_one_of(port.get("protocol"), f"{p}.protocol", _PROTOCOLS)
    return out


def _resources(res: dict | None, path: str) -> list[Cause]:
    res = res or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    out: list[Cause] = []
    for name, qty in requests.items():
        if name not in limits:
            continue
        req_q, lim_q = parse_quantity(qty), parse_quantity(limits[name])
        if req_q is None or lim_q is None:
            continue
        if req_q != lim_q and name not in _OVERCOMMIT and not name.startswith("hugepages-"):
            out.append(invalid(f"{path}.requests", go_quote(str(qty)),
                               f"must be equal to {name} limit of {limits[name]}"))
        elif req_q > lim_q:
            out.append(invalid(f"{path}.requests", go_quote(str(qty)),
                               f"must be less than or equal to {name} limit of {limits[name]}"))
    return out


def _handler(h: dict, path: str, kinds: tuple[str, ...]) -> list[Cause]:
    """validateHandler: exactly one handler type, each validated."""
    out: list[Cause] = []
    count = 0
    for kind in kinds:
        action = h.get(kind)
        if action is None:
            continue
        if count:
            out.append(forbidden(f"{path}.{kind}", "may not specify more than 1 handler type"))
            continue
        count += 1
        out += _action(kind, action, f"{path}.{kind}")
    if not count:
        out.append(required(path, "must specify a handler type"))
    return out


def _action(kind: str, a: dict, path: str) -> list[Cause]:
    out: list[Cause] = []
    if kind == "exec" and not a.get("command"):
        out.append(required(f"{path}.command"))
    elif kind == "httpGet":
        if not a.get("path"):
            out.append(required(f"{path}.path"))
        out += _port_num_or_name(a.get("port"), f"{path}.port")
        scheme = a.get("scheme") or ""
        if scheme not in ("HTTP", "HTTPS"):
            out.append(not_supported(f"{path}.scheme", go_quote(scheme), ("HTTP", "HTTPS")))
    elif kind == "tcpSocket":
        out += _port_num_or_name(a.get("port"), f"{path}.port")
    elif kind == "grpc":
        out += _port_num(a.get("port") or 0, f"{path}.port")
    return out


_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _probe(probe: dict | None, path: str, kind: str) -> list[Cause]:
    if probe is None:
        return []
    out = _handler(probe, path, _PROBE_HANDLERS)
    for f in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
              "failureThreshold"):
        out += _nonneg(probe.get(f), f"{path}.{f}")
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and grace <= 0:
        out.append(invalid(f"{path}.terminationGracePeriodSeconds", str(grace), "must be greater than 0"))
    if kind in ("livenessProbe", "startupProbe") and probe.get("successThreshold", 1) != 1:
        out.append(invalid(f"{path}.successThreshold", str(probe.get("successThreshold")), "must be 1"))
    if kind == "readinessProbe" and grace is not None:
        out.append(invalid(f"{path}.terminationGracePeriodSeconds", str(grace),
                           "must not be set for readinessProbes"))
    return out


def _volume_mounts(mounts: list, volumes: set[str], path: str) -> list[Cause]:
    out: list[Cause] = []
    seen: set[str] = set()
    for i, m in enumerate(mounts or []):
        p = f"{path}[{i}]"
        name, mount_path = m.get("name") or "", m.get("mountPath") or ""
        if not name:
            out.append(required(f"{p}.name"))
        if name not in volumes:
            out.append(not_found(f"{p}.name", go_quote(name)))
        if not mount_path:
            out.append(required(f"{p}.mountPath"))
        if mount_path in seen:
            out.append(invalid(f"{p}.mountPath", go_quote(mount_path), "must be unique"))
        seen.add(mount_path)
    return out


def _container_common(c: dict, volumes: set[str], path: str) -> list[Cause]:
    """validateContainerCommon."""
    out: list[Cause] = []
    name = c.get("name") or ""
    if not name:
        out.append(required(f"{path}.name"))
    else:
        out += [invalid(f"{path}.name", go_quote(name), m) for m in is_dns1123_label(name)]
    if not c.get("image"):
        out.append(required(f"{path}.image"))
    out += required_one_of(c.get("terminationMessagePolicy"), f"{path}.terminationMessagePolicy",
                           _TERMINATION_MESSAGE_POLICIES)
    out += _container_ports(c.get("ports") or [], f"{path}.ports")
    for i, env in enumerate(c.get("env") or []):
        if not env.get("name"):
            out.append(required(f"{path}.env[{i}].name"))
    out += _volume_mounts(c.get("volumeMounts") or [], volumes, f"{path}.volumeMounts")
    out += required_one_of(c.get("imagePullPolicy"), f"{path}.imagePullPolicy", _PULL_POLICIES)
    out += _resources(c.get("resources"), f"{path}.resources")
    return out


def _containers(containers: list, volumes: set[str], path: str) -> list[Cause]:
    if not containers:
        return [required(path)]
    out: list[Cause] = []
    names: set[str] = set()
    for i, c in enumerate(containers):
        p = f"{path}[{i}]"
        out += _container_common(c, volumes, p)
        name = c.get("name") or ""
        if name in names:
            out.append(duplicate(f"{p}.name", go_quote(name)))
        names.add(name)
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            out += _probe(c.get(kind), f"{p}.{kind}", kind)
    return out


def _init_containers(inits: list, containers: list, volumes: set[str], path: str) -> list[Cause]:
    out: list[Cause] = []
    names = {c.get("name") for c in containers or []}
    for i, c in enumerate(inits or []):
        p = f"{path}[{i}]"
        out += _container_common(c, volumes, p)
        name = c.get("name") or ""
        if name in names:
            out.append(duplicate(f"{p}.name", go_quote(name)))
        names.add(name)
        sidecar = c.get("restartPolicy") == "Always"
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(kind) is not None and not sidecar:
                out.append(forbidden(f"{p}.{kind}",
                                     "may not be set for init containers without restartPolicy=Always"))
            elif sidecar:
                out += _probe(c.get(kind), f"{p}.{kind}", kind)
    return out


def _volumes(volumes: list, path: str) -> tuple[set[str], list[Cause]]:
    names: set[str] = set()
    out: list[Cause] = []
    for i, vol in enumerate(volumes or []):
        p = f"{path}[{i}].name"
        name = vol.get("name") or ""
        errs = [required(p)] if not name else [invalid(p, go_quote(name), m) for m in is_dns1123_label(name)]
        if not any(k != "name" and v is not None for k, v in vol.items()):
            errs.insert(0, required(f"{path}[{i}]", "must specify a volume type"))
        if name in names:
            errs.append(duplicate(p, go_quote(name)))
        if errs:
            out += errs
        else:
            names.add(name)
    return names, out


def validate_pod_spec(spec: dict, path: str) -> list[Cause]:
    """ValidatePodSpec, in its order, for the checks workshop users actually hit."""
    volumes, out = _volumes(spec.get("volumes") or [], f"{path}.volumes")
    containers = spec.get("containers") or []
    out += _containers(containers, volumes, f"{path}.containers")
    out += _init_containers(spec.get("initContainers") or [], containers, volumes, f"{path}.initContainers")
    out += required_one_of(spec.get("restartPolicy"), f"{path}.restartPolicy", _RESTART_POLICIES)
    out += required_one_of(spec.get("dnsPolicy"), f"{path}.dnsPolicy", _DNS_POLICIES)
    out += validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    sa = spec.get("serviceAccountName") or ""
    if sa:
        out += [invalid(f"{path}.serviceAccountName", go_quote(sa), m) for m in is_dns1123_subdomain(sa)]
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= deadline <= 2147483647:
        out.append(invalid(f"{path}.activeDeadlineSeconds", str(deadline),
                           "must be between 1 and 2147483647, inclusive"))
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            out += [invalid(f"{path}.{key}", go_quote(spec[key]), m) for m in is_dns1123_label(spec[key])]
    return out


def validate_pod_template(template: dict | None, path: str) -> list[Cause]:
    """ValidatePodTemplateSpec: note the real server reports template labels at `<path>.labels`."""
    template = template or {}
    md = template.get("metadata") or {}
    out = validate_labels(md.get("labels"), f"{path}.labels")
    out += validate_annotations(md.get("annotations"), f"{path}.annotations")
    out += validate_pod_spec(template.get("spec") or {}, f"{path}.spec")
    return out


# ==== apps/v1 =====================================================================================
def _template_labels(spec: dict) -> dict | None:
    return ((spec.get("template") or {}).get("metadata") or {}).get("labels")


def _workload_selector(spec: dict, kind: str) -> list[Cause]:
    """Selector required, valid and non-empty (the apps validators share this)."""
    sel = spec.get("selector")
    if sel is None:
        return [required("spec.selector")]
    out = validate_label_selector(sel, "spec.selector")
    if selector_is_empty(sel):
        out.append(invalid("spec.selector", go_selector(sel), f"empty selector is invalid for {kind}"))
    return out


def _selector_matches_template(spec: dict) -> list[Cause]:
    sel = spec.get("selector")
    if sel is not None and selector_is_empty(sel):
        return []
    labels = _template_labels(spec)
    if selector_matches(sel, labels):
        return []
    return [invalid("spec.template.metadata.labels", go_string_map(labels),
                    "`selector` does not match template `labels`")]


def _template_for_replicaset(spec: dict, owner: str) -> list[Cause]:
    """ValidatePodTemplateSpecForReplicaSet."""
    out = _selector_matches_template(spec)
    template = spec.get("template") or {}
    out += validate_pod_template(template, "spec.template")
    tspec = template.get("spec") or {}
    restart = tspec.get("restartPolicy") or ""
    if restart != "Always":
        out.append(not_supported("spec.template.spec.restartPolicy", go_quote(restart), ("Always",)))
    if tspec.get("activeDeadlineSeconds") is not None:
        out.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                             f"activeDeadlineSeconds in {owner} is not Supported"))
    return out


def _percent(v: Any) -> int | None:
    if isinstance(v, str) and re.fullmatch(r"[0-9]+%", v):
        return int(v[:-1])
    return None


def _int_or_percent(v: Any) -> int:
    """getIntOrPercentValue: a percent's number, an int, or 0 for anything unparsable."""
    p = _percent(v)
    if p is not None:
        return p
    if isinstance(v, int):
        return v
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


_PERCENT_MSG = _regex_error("a valid percent string must be a numeric string followed by an ending '%'",
                            "[0-9]+%", "1%", "93%")


def _positive_int_or_percent(v: Any, path: str) -> list[Cause]:
    if isinstance(v, str):
        return [] if _percent(v) is not None else [invalid(path, go_intstr(v), _PERCENT_MSG)]
    return _nonneg(v or 0, path)


def _deployment_strategy(strategy: dict) -> list[Cause]:
    kind = strategy.get("type") or ""
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [forbidden("spec.strategy.rollingUpdate",
                              "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if kind == "RollingUpdate":
        if rolling is None:
            return [required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil")]
        p = "spec.strategy.rollingUpdate"
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        out = _positive_int_or_percent(unavailable, f"{p}.maxUnavailable")
        out += _positive_int_or_percent(surge, f"{p}.maxSurge")
        if _int_or_percent(unavailable) == 0 and _int_or_percent(surge) == 0:
            out.append(invalid(f"{p}.maxUnavailable", go_intstr(unavailable),
                               "may not be 0 when `maxSurge` is 0"))
        pct = _percent(unavailable)
        if pct is not None and pct > 100:
            out.append(invalid(f"{p}.maxUnavailable", go_intstr(unavailable),
                               "must not be greater than 100%"))
        return out
    ptr = "nil" if rolling is None else "0xc000000000"
    rendered = (f"apps.DeploymentStrategy{{Type:{go_quote(kind)}, "
                f"RollingUpdate:(*apps.RollingUpdateDeployment)({ptr})}}")
    return [not_supported("spec.strategy", rendered, ("Recreate", "RollingUpdate"))]


def _semantic_equal(a: Any, b: Any) -> bool:
    """apiequality.Semantic.DeepEqual: nil and empty maps/slices are equal."""
    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items() if x not in (None, {}, [])}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v
    return norm(a) == norm(b)


def _immutable_selector(obj: dict, old: dict | None) -> list[Cause]:
    if old is None:
        return []
    new_sel, old_sel = (obj.get("spec") or {}).get("selector"), (old.get("spec") or {}).get("selector")
    if _semantic_equal(new_sel, old_sel):
        return []
    return [invalid("spec.selector", go_selector(new_sel), "field is immutable")]


def _deployment(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    out = _nonneg(spec.get("replicas"), "spec.replicas")
    out += _workload_selector(spec, "deployment")
    if _selector_parses(spec.get("selector")):
        out += _template_for_replicaset(spec, "ReplicaSet")
    else:
        out.append(invalid("spec.selector", go_selector(spec.get("selector")), "invalid label selector"))
    out += _deployment_strategy(spec.get("strategy") or {})
    out += _nonneg(spec.get("minReadySeconds"), "spec.minReadySeconds")
    out += _nonneg(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None:
        out += _nonneg(deadline, "spec.progressDeadlineSeconds")
        if deadline <= (spec.get("minReadySeconds") or 0):
            out.append(invalid("spec.progressDeadlineSeconds", str(deadline),
                               "must be greater than minReadySeconds"))
    return out + _immutable_selector(obj, old)


def _replicaset(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    out = _nonneg(spec.get("replicas"), "spec.replicas")
    out += _nonneg(spec.get("minReadySeconds"), "spec.minReadySeconds")
    out += _workload_selector(spec, "deployment")  # sic: the real message says deployment
    if _selector_parses(spec.get("selector")):
        out += _template_for_replicaset(spec, "ReplicaSet")
    else:
        out.append(invalid("spec.selector", go_selector(spec.get("selector")), "invalid label selector"))
    return out + _immutable_selector(obj, old)


_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
_STS_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                  "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                  "'minReadySeconds' are forbidden")


def _statefulset(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    out: list[Cause] = []
    policy = spec.get("podManagementPolicy") or ""
    if not policy:
        out.append(required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        out.append(invalid("spec.podManagementPolicy", go_quote(policy), "must be 'OrderedReady' or 'Parallel'"))
    strategy = spec.get("updateStrategy") or {}
    kind, rolling = strategy.get("type") or "", strategy.get("rollingUpdate")
    if not kind:
        out.append(required("spec.updateStrategy"))
    elif kind == "OnDelete" and rolling is not None:
        out.append(invalid("spec.updateStrategy.rollingUpdate", "apps.RollingUpdateStatefulSetStrategy{}",
                           "only allowed for updateStrategy 'RollingUpdate'"))
    elif kind == "RollingUpdate" and rolling is not None:
        out += _nonneg(rolling.get("partition"), "spec.updateStrategy.rollingUpdate.partition")
    elif kind not in ("OnDelete", "RollingUpdate"):
        out.append(invalid("spec.updateStrategy", f"apps.StatefulSetUpdateStrategy{{Type:{go_quote(kind)}}}",
                           "must be 'RollingUpdate' or 'OnDelete'"))
    retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    for f in ("whenDeleted", "whenScaled"):
        value = retention.get(f)
        if retention and value not in ("Retain", "Delete"):
            out.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{f}",
                                     go_quote(value or ""), ("Retain", "Delete")))
    out += _nonneg(spec.get("replicas"), "spec.replicas")
    out += _nonneg(spec.get("minReadySeconds"), "spec.minReadySeconds")
    out += _workload_selector(spec, "statefulset")
    if _selector_parses(spec.get("selector")):
        out += _selector_matches_template(spec)
        md = (spec.get("template") or {}).get("metadata") or {}
        out += validate_labels(md.get("labels"), "spec.template.labels")
        out += validate_annotations(md.get("annotations"), "spec.template.annotations")
    else:
        out.append(invalid("spec.selector", go_selector(spec.get("selector")), ""))
    tspec = (spec.get("template") or {}).get("spec") or {}
    restart = tspec.get("restartPolicy") or ""
    if restart != "Always":
        out.append(not_supported("spec.template.spec.restartPolicy", go_quote(restart), ("Always",)))
    if tspec.get("activeDeadlineSeconds") is not None:
        out.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                             "activeDeadlineSeconds in StatefulSet is not Supported"))
    if old is not None:
        a = {k: v for k, v in spec.items() if k not in _STS_MUTABLE}
        b = {k: v for k, v in (old.get("spec") or {}).items() if k not in _STS_MUTABLE}
        if not _semantic_equal(a, b):
            out.append(forbidden("spec", _STS_FORBIDDEN))
    return out


# ==== core/v1 =====================================================================================
def _pod(obj: dict, old: dict | None) -> list[Cause]:
    return validate_pod_spec(obj.get("spec") or {}, "spec")


_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
NODE_PORT_RANGE = (30000, 32767)


def _service_port(port: dict, require_name: bool, names: set[str], path: str) -> list[Cause]:
    out: list[Cause] = []
    name = port.get("name") or ""
    if require_name and not name:
        out.append(required(f"{path}.name"))
    elif name:
        out += [invalid(f"{path}.name", go_quote(name), m) for m in is_dns1123_label(name)]
        if name in names:
            out.append(duplicate(f"{path}.name", go_quote(name)))
        names.add(name)
    out += _port_num(port.get("port") or 0, f"{path}.port")
    out += required_one_of(port.get("protocol"), f"{path}.protocol", _PROTOCOLS)
    out += _port_num_or_name(port.get("targetPort"), f"{path}.targetPort")
    return out


def _service(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    kind = spec.get("type") or ""
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    out: list[Cause] = []
    if not ports and not headless and kind != "ExternalName":
        out.append(required("spec.ports"))
    if kind in ("NodePort", "LoadBalancer") and headless:
        out.append(invalid("spec.clusterIPs[0]", go_quote("None"), f"may not be set to 'None' for {kind} services"))
    if kind == "ExternalName":
        if spec.get("clusterIPs"):
            out.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        cname = (spec.get("externalName") or "").removesuffix(".")
        if cname:
            out += [invalid("spec.externalName", go_quote(cname), m) for m in is_dns1123_subdomain(cname)]
        else:
            out.append(required("spec.externalName"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        out += _service_port(port, len(ports) > 1, names, f"spec.ports[{i}]")
    if spec.get("selector") is not None:
        out += validate_labels(spec.get("selector"), "spec.selector")
    out += required_one_of(spec.get("sessionAffinity"), "spec.sessionAffinity", ("ClientIP", "None"))
    out += required_one_of(kind, "spec.type", _SERVICE_TYPES)
    if kind == "ClusterIP":
        out += [forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
                for i, p in enumerate(ports) if p.get("nodePort")]
    seen_node: set[tuple] = set()
    for i, p in enumerate(ports):
        if p.get("nodePort"):
            key = (p.get("protocol"), p["nodePort"])
            if key in seen_node:
                out.append(duplicate(f"spec.ports[{i}].nodePort", str(p["nodePort"])))
            seen_node.add(key)
    seen: set[tuple] = set()
    for i, p in enumerate(ports):
        key = (p.get("protocol"), p.get("port"))
        if key in seen:
            out.append(duplicate(f"spec.ports[{i}]", _go_service_port(p)))
        seen.add(key)
    out += _traffic_policies(spec, kind)
    if kind in ("NodePort", "LoadBalancer"):
        low, high = NODE_PORT_RANGE
        for i, p in enumerate(ports):
            node_port = p.get("nodePort")
            if node_port and not low <= node_port <= high:
                out.append(invalid(f"spec.ports[{i}].nodePort", str(node_port),
                                   f"provided port is not in the valid range. The range of valid "
                                   f"ports is {low}-{high}"))
    return out


def _traffic_policies(spec: dict, kind: str) -> list[Cause]:
    out: list[Cause] = []
    external = spec.get("externalTrafficPolicy") or ""
    accessible = kind in ("NodePort", "LoadBalancer") or (kind == "ClusterIP" and spec.get("externalIPs"))
    if not accessible and external:
        out.append(invalid("spec.externalTrafficPolicy", go_quote(external),
                           "may only be set for externally-accessible services"))
    elif accessible and not external:
        out.append(required("spec.externalTrafficPolicy"))
    elif accessible and external not in ("Cluster", "Local"):
        out.append(not_supported("spec.externalTrafficPolicy", go_quote(external), ("Cluster", "Local")))
    internal = spec.get("internalTrafficPolicy")
    if internal is None and kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        out.append(required("spec.internalTrafficPolicy"))
    elif internal is not None and internal not in ("Cluster", "Local"):
        out.append(not_supported("spec.internalTrafficPolicy", go_quote(internal), ("Cluster", "Local")))
    return out


# ==== batch/v1 ====================================================================================
def _job(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    out: list[Cause] = []
    for f in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
              "ttlSecondsAfterFinished"):
        out += _nonneg(spec.get(f), f"spec.{f}")
    out += validate_pod_template(spec.get("template"), "spec.template")
    restart = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") or ""
    if restart in ("Always", ""):
        out.append(required("spec.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"'))
    elif restart not in ("OnFailure", "Never"):
        out.append(not_supported("spec.template.spec.restartPolicy", go_quote(restart), ("OnFailure", "Never")))
    sel = spec.get("selector")
    # Without manualSelector the Job strategy generates the selector (it needs the uid).
    if sel is None and spec.get("manualSelector") is True:
        out.append(required("spec.selector"))
    elif sel is not None:
        out += validate_label_selector(sel, "spec.selector")
        if _selector_parses(sel) and not selector_matches(sel, _template_labels(spec)):
            out.append(invalid("spec.template.metadata.labels", go_string_map(_template_labels(spec)),
                               "`selector` does not match template `labels`"))
    return out


# ==== autoscaling/v2 ==============================================================================
_METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
_METRIC_FIELDS = {"Object": "object", "Pods": "pods", "Resource": "resource",
                  "ContainerResource": "containerResource", "External": "external"}


def _metric_target(t: dict, path: str) -> list[Cause]:
    out: list[Cause] = []
    kind = t.get("type") or ""
    if not kind:
        out.append(required(f"{path}.type", "must specify a metric target type"))
    if kind not in ("Utilization", "Value", "AverageValue"):
        out.append(invalid(f"{path}.type", go_quote(kind), "must be either Utilization, Value, or AverageValue"))
    for f in ("value", "averageValue"):
        q = parse_quantity(t[f]) if t.get(f) is not None else None
        if q is not None and q <= 0:
            out.append(invalid(f"{path}.{f}", go_quote(str(t[f])), "must be positive"))
    util = t.get("averageUtilization")
    if util is not None and util < 1:
        out.append(invalid(f"{path}.averageUtilization", str(util), "must be greater than 0"))
    return out


def _resource_source(src: dict, path: str) -> list[Cause]:
    out: list[Cause] = []
    if not src.get("name"):
        out.append(required(f"{path}.name", "must specify a resource name"))
    target = src.get("target") or {}
    out += _metric_target(target, f"{path}.target")
    if target.get("averageUtilization") is None and target.get("averageValue") is None:
        out.append(required(f"{path}.target.averageUtilization",
                            "must set either a target raw value or a target utilization"))
    if target.get("averageUtilization") is not None and target.get("averageValue") is not None:
        out.append(forbidden(f"{path}.target.averageValue",
                             "may not set both a target raw value and a target utilization"))
    return out


def _metric_identifier_target(src: dict, path: str) -> list[Cause]:
    out: list[Cause] = []
    if not (src.get("metric") or {}).get("name"):
        out.append(required(f"{path}.metric.name", "must specify a metric name"))
    return out + _metric_target(src.get("target") or {}, f"{path}.target")


def _metric(m: dict, path: str) -> list[Cause]:
    out: list[Cause] = []
    kind = m.get("type") or ""
    if not kind:
        out.append(required(f"{path}.type", "must specify a metric source type"))
    if kind not in _METRIC_TYPES:
        out.append(not_supported(f"{path}.type", go_quote(kind), _METRIC_TYPES))
    present = [f for f in ("object", "external", "pods", "resource", "containerResource")
               if m.get(f) is not None]
    if present:
        first = present[0]
        if first in ("resource", "containerResource"):
            out += _resource_source(m[first], f"{path}.{first}")
        else:
            out += _metric_identifier_target(m[first], f"{path}.{first}")
    expected = _METRIC_FIELDS.get(kind)
    if expected and m.get(expected) is None:
        out.append(required(f"{path}.{expected}", "must populate information for the given metric source"))
    if len(present) > 1:
        out += [forbidden(f"{path}.{f}", "must populate the given metric source only")
                for f in present if f != expected]
    return out


def _scaling_rules(rules: dict | None, path: str) -> list[Cause]:
    if rules is None:
        return []
    out: list[Cause] = []
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and window < 0:
        out.append(invalid(f"{path}.stabilizationWindowSeconds", str(window), "must be greater than or equal to zero"))
    if window is not None and window > 3600:
        out.append(invalid(f"{path}.stabilizationWindowSeconds", str(window), "must be less than or equal to 3600"))
    select = rules.get("selectPolicy")
    if select is not None and select not in ("Disabled", "Max", "Min"):
        out.append(not_supported(f"{path}.selectPolicy", go_quote(select), ("Disabled", "Max", "Min")))
    policies = rules.get("policies") or []
    if not policies:
        out.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, p in enumerate(policies):
        pp = f"{path}.policies[{i}]"
        if p.get("type") not in ("Pods", "Percent"):
            out.append(not_supported(f"{pp}.type", go_quote(p.get("type") or ""), ("Percent", "Pods")))
        value, period = p.get("value") or 0, p.get("periodSeconds") or 0
        if value <= 0:
            out.append(invalid(f"{pp}.value", str(value), "must be greater than zero"))
        if period <= 0:
            out.append(invalid(f"{pp}.periodSeconds", str(period), "must be greater than zero"))
        if period > 1800:
            out.append(invalid(f"{pp}.periodSeconds", str(period), "must be less than or equal to 1800"))
    return out


def _path_segment(name: str) -> list[str]:
    """IsValidPathSegmentName."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _hpa(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    out: list[Cause] = []
    low, high = spec.get("minReplicas"), spec.get("maxReplicas") or 0
    if low is not None and low < 1:
        out.append(invalid("spec.minReplicas", str(low), "must be greater than or equal to 1"))
    if high < 1:
        out.append(invalid("spec.maxReplicas", str(high), "must be greater than 0"))
    if low is not None and high < low:
        out.append(invalid("spec.maxReplicas", str(high), "must be greater than or equal to `minReplicas`"))
    ref = spec.get("scaleTargetRef") or {}
    for f in ("kind", "name"):
        value = ref.get(f) or ""
        if not value:
            out.append(required(f"spec.scaleTargetRef.{f}"))
        out += [invalid(f"spec.scaleTargetRef.{f}", go_quote(value), m) for m in _path_segment(value)]
    for i, m in enumerate(spec.get("metrics") or []):
        out += _metric(m, f"spec.metrics[{i}]")
    behavior = spec.get("behavior")
    if behavior is not None:
        out += _scaling_rules(behavior.get("scaleUp"), "spec.behavior.scaleUp")
        out += _scaling_rules(behavior.get("scaleDown"), "spec.behavior.scaleDown")
    return out


# ==== per-kind table ==============================================================================
Validator = Callable[[dict, dict | None], list[Cause]]

_NAME_RULES: dict[str, NameFn] = {
    "services": is_dns1035_label,
    "namespaces": is_dns1123_label,
    "statefulsets": is_dns1123_label,
}
_SPEC_RULES: dict[str, Validator] = {
    "deployments": _deployment,
    "replicasets": _replicaset,
    "statefulsets": _statefulset,
    "pods": _pod,
    "services": _service,
    "jobs": _job,
    "horizontalpodautoscalers": _hpa,
}


def _semantic(key: str, obj: dict, old: dict | None) -> list[Cause]:
    rt = by_key(key)
    md = obj.get("metadata") or {}
    out = validate_object_meta(md, rt.namespaced, _NAME_RULES.get(key, is_dns1123_subdomain))
    rule = _SPEC_RULES.get(key)
    if rule is not None:
        out += rule(obj, old)
    return out


# ==== schemas (kubernetes_validate) ================================================================
@functools.cache
def _schema_dir(strict: bool):
    root = importlib_resources.files("kubernetes_validate") / "kubernetes-json-schema"
    return root / (f"v{SCHEMA_VERSION}-local" + ("-strict" if strict else ""))


@functools.cache
def _load_json(strict: bool, filename: str) -> dict | None:
    path = _schema_dir(strict) / filename
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def _kind_schema(key: str, strict: bool) -> dict | None:
    rt = by_key(key)
    if rt.extra.get("virtual"):
        return None
    group = rt.group.split(".")[0]
    name = f"{rt.kind.lower()}-{group + '-' if group else ''}{rt.version}.json"
    return _load_json(strict, name)


@functools.cache
def _validator(key: str) -> jsonschema.Draft202012Validator | None:
    """One compiled validator per resource; the 1.4 MB definitions are loaded once."""
    schema = _kind_schema(key, strict=False)
    if schema is None:
        return None
    defs = _load_json(False, "_definitions.json")
    registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def _join(path: str, part: Any) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else str(part)


def _schema_causes(key: str, obj: dict) -> tuple[list[Cause], list[Cause]]:
    """(type errors, required errors) from the plain schema, worded like CRD schema errors."""
    validator = _validator(key)
    if validator is None:
        return [], []
    types: list[Cause] = []
    missing: list[Cause] = []
    for err in validator.iter_errors(obj):
        path = ""
        for part in err.absolute_path:
            path = _join(path, part)
        if err.validator in ("type", "oneOf"):
            if err.validator == "type":
                wanted = [t for t in err.validator_value if t != "null"] if isinstance(
                    err.validator_value, list) else [err.validator_value]
                want = wanted[0] if wanted else "null"
            else:
                want = "integer-or-string" if "integer" in json.dumps(err.validator_value) else "string-or-number"
            got = _json_type(err.instance)
            types.append(Cause("FieldValueInvalid", f"Invalid value: {go_quote(got)}: "
                               f"{path} in body must be of type {want}: {go_quote(got)}", path))
        elif err.validator == "required" and isinstance(err.instance, dict):
            for name in err.validator_value:
                if name not in err.instance:
                    missing.append(required(_join(path, name)))
    return types, missing


# ==== unknown fields (strict decoding) ==============================================================
def _resolve(schema: dict, defs: dict) -> dict:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _walk(value: Any, schema: dict, defs: dict, path: str, found: list[str], prune: bool) -> Any:
    """Collect unknown field paths (document order); with `prune`, return a copy without them."""
    schema = _resolve(schema, defs)
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is None and not isinstance(extra, dict):
            return copy.deepcopy(value) if prune else value
        out = {} if prune else value
        for k, v in value.items():
            sub = props.get(k) if props is not None else None
            if sub is None:
                sub = extra if isinstance(extra, dict) else None
                if sub is None and extra is False:
                    found.append(_join(path, k))
                    continue
            child = _walk(v, sub, defs, _join(path, k), found, prune) if sub is not None else v
            if prune:
                out[k] = child
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        res = [_walk(v, items, defs, _join(path, i), found, prune) for i, v in enumerate(value)]
        return res if prune else value
    return value


def _strict(key: str) -> tuple[dict, dict] | None:
    schema = _kind_schema(key, strict=True)
    defs = _load_json(True, "_definitions.json")
    if schema is None or defs is None:
        return None
    return schema, defs["$defs"]


def unknown_fields(key: str, obj: dict) -> list[str]:
    """Paths of fields the schema does not know, as strict decoding names them:
    `spec.template.spec.containers[0].protocl` (see strict_decoding_message)."""
    found: list[str] = []
    s = _strict(key)
    if s is not None:
        _walk(obj, s[0], s[1], "", found, prune=False)
    return found


def prune_unknown_fields(key: str, obj: dict) -> dict:
    """What the real server stores under fieldValidation=Ignore/Warn: a copy without unknowns."""
    s = _strict(key)
    if s is None:
        return copy.deepcopy(obj)
    return _walk(obj, s[0], s[1], "", [], prune=True)


def strict_decoding_message(paths: list[str]) -> str:
    """The 400 BadRequest message of fieldValidation=Strict (kubectl prefixes it with
    `Error from server (BadRequest): error when creating "f.yaml": Deployment in version "v1"
    cannot be handled as a Deployment: `)."""
    return "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in paths)


def unknown_field_warning(path: str) -> str:
    """One `Warning:` header text of fieldValidation=Warn (kubectl prints `Warning: <text>`)."""
    return f'unknown field "{path}"'


# ==== entry point ====================================================================================
def validate(key: str, obj: dict, old: dict | None = None, *, schema: bool = True) -> list[Cause]:
    """All causes for a (defaulted) object, in the apiserver's order; [] when valid.

    Type errors stand for the real server's decode failure, so they come alone (the semantic
    rules would trip over wrong types). Schema `required` causes are added only where the
    semantic rules did not already report that field or something beneath it."""
    if not isinstance(obj, dict) or key not in _ALL_KEYS:
        return []
    type_errors, missing = _schema_causes(key, obj) if schema else ([], [])
    if type_errors:
        return type_errors
    causes = _semantic(key, obj, old)
    reported = [c.field for c in causes]
    for c in missing:
        if not any(f == c.field or f.startswith(c.field + ".") or f.startswith(c.field + "[")
                   for f in reported):
            causes.append(c)
    return causes


_ALL_KEYS = frozenset({
    "pods", "services", "namespaces", "nodes", "endpoints", "events", "configmaps", "secrets",
    "serviceaccounts", "persistentvolumeclaims", "persistentvolumes", "deployments",
    "replicasets", "statefulsets", "controllerrevisions", "horizontalpodautoscalers",
    "endpointslices", "storageclasses", "jobs", "leases",
})


def warm_up() -> None:
    """Load schemas and compile validators ahead of the first request (about a second)."""
    for key in _ALL_KEYS:
        _validator(key)
        _strict(key)

