"""Apply PATCH bodies the way kube-apiserver does.

kubectl has no fallback when a patch type misbehaves (`apply`, `set image`, `rollout pause` and
`edit` all send strategic merge patches with directives), so this follows
k8s.io/apimachinery/pkg/util/strategicpatch (`StrategicMergeMapPatch` with
`MergeParallelList` and `IgnoreUnmatchedNulls`) closely, including its list ordering rules.
The Go structs' `patchStrategy`/`patchMergeKey` tags are replaced by a small per-kind schema
(`_ROOTS`); list fields not in it are replaced atomically, as in Go.

Deliberate differences from Go, all in the direction of "never store garbage":
* no `$...` key survives in the result (Go copies unmatched patch values verbatim and relies on
  typed decoding to drop directives);
* `$patch: merge` on a map is accepted as a plain merge (Go rejects it);
* errors Go would surface as a 500 (a list item without its merge key, ...) are 422s here.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jsonpatch

from .errors import ApiError

STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH_YAML = "application/apply-patch+yaml"

# The order the apiserver lists them in its 415 message.
SUPPORTED_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH_YAML)

MAX_JSON_PATCH_OPERATIONS = 10000

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList/"

# apiserver wording for a JSON patch that fails to apply (NewGenericServerResponse 422).
_REJECTED = "the server rejected our request due to an error in our request"


class PatchError(ValueError):
    """A patch that cannot be applied; carries the HTTP status the apiserver would answer."""

    def __init__(self, message: str, *, code: int = 422, reason: str = "Invalid",
                 detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.detail = detail  # the underlying cause, for logs; the apiserver does not send it

    def as_api_error(self) -> ApiError:
        return ApiError(self.code, self.reason, self.message)


class UnsupportedPatchType(PatchError):
    """Content type the PATCH handler does not know (415, like the apiserver)."""

    def __init__(self, content_type: str):
        super().__init__(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(SUPPORTED_PATCH_TYPES),
            code=415, reason="UnsupportedMediaType", detail=content_type)
        self.content_type = content_type


def _bad_request(message: str) -> PatchError:
    return PatchError(message, code=400, reason="BadRequest")


# --------------------------------------------------------------------------------------------
# Patch metadata (the Go struct tags)


@dataclass(frozen=True)
class _Field:
    """Patch metadata of one field: is it a merged list, by which key, and what is inside."""

    merge: bool = False
    merge_key: str | None = None
    child: dict[str, _Field] = field(default_factory=dict)


_ATOMIC = _Field()


def _by(key: str | None, child: dict[str, _Field] | None = None) -> _Field:
    return _Field(merge=True, merge_key=key, child=child or {})


def _struct(**fields: _Field) -> _Field:
    return _Field(child=fields)


_OBJECT_META = _struct(finalizers=_by(None), ownerReferences=_by("uid"))

_CONTAINER = {
    "ports": _by("containerPort"),
    "env": _by("name"),
    "volumeMounts": _by("mountPath"),
    "volumeDevices": _by("devicePath"),
    # envFrom, args, command, resizePolicy: atomic (no tag)
}

_POD_SPEC = _struct(
    containers=_by("name", _CONTAINER),
    initContainers=_by("name", _CONTAINER),
    ephemeralContainers=_by("name", _CONTAINER),
    volumes=_by("name"),
    imagePullSecrets=_by("name"),
    hostAliases=_by("ip"),
    topologySpreadConstraints=_by("topologyKey"),
    resourceClaims=_by("name"),
    schedulingGates=_by("name"),
    # tolerations, readinessGates: atomic
)

_POD_STATUS = _struct(conditions=_by("type"), podIPs=_by("ip"), hostIPs=_by("ip"))

_POD_TEMPLATE = _struct(metadata=_OBJECT_META, spec=_POD_SPEC)

_WORKLOAD = {
    "metadata": _OBJECT_META,
    "spec": _struct(template=_POD_TEMPLATE),
    "status": _struct(conditions=_by("type")),
}

_ROOTS: dict[str, dict[str, _Field]] = {
    "Pod": {"metadata": _OBJECT_META, "spec": _POD_SPEC, "status": _POD_STATUS},
    "PodTemplate": {"metadata": _OBJECT_META, "template": _POD_TEMPLATE},
    "Deployment": _WORKLOAD,
    "ReplicaSet": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "Job": _WORKLOAD,
    "ReplicationController": _WORKLOAD,
    "CronJob": {
        "metadata": _OBJECT_META,
        "spec": _struct(jobTemplate=_struct(metadata=_OBJECT_META, spec=_struct(
            template=_POD_TEMPLATE))),
    },
    "Service": {"metadata": _OBJECT_META, "spec": _struct(ports=_by("port"))},
    "Node": {
        "metadata": _OBJECT_META,
        "spec": _struct(podCIDRs=_by(None)),
        "status": _struct(conditions=_by("type"), addresses=_by("type")),
    },
}

# Fields merged the same way wherever they appear (every API `conditions` list is keyed by type).
_ANYWHERE = {"conditions": _by("type")}


def _lookup(schema: dict[str, _Field], key: str) -> _Field:
    return schema.get(key) or _ANYWHERE.get(key) or _ATOMIC


def _root_schema(kind: str) -> dict[str, _Field]:
    return _ROOTS.get(kind, {"metadata": _OBJECT_META})


# --------------------------------------------------------------------------------------------
# Helpers mirroring Go's interface{} semantics


def _jtype(v: Any) -> str:
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "list"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float | Decimal):
        return "number"
    if isinstance(v, str):
        return "string"
    return "null" if v is None else type(v).__name__


def _same(a: Any, b: Any) -> bool:
    """Go `==` on decoded JSON scalars: no bool/number confusion, 1 == 1.0."""
    return _jtype(a) == _jtype(b) and a == b


_MISSING = object()


def _gofmt(v: Any) -> str:
    """Render like Go's `%v` of decoded JSON, so error texts read like the apiserver's."""
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_gofmt(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_gofmt(x) for x in v) + "]"
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return str(v)


def _no_merge_key(m: dict, key: str) -> PatchError:
    return PatchError(f"map: {_gofmt(m)} does not contain declared merge key: {key}")


def _elem_kind(*lists: list) -> str | None:
    """Common element type of the lists (Go sliceElementType); None when all are empty."""
    kind = None
    for lst in lists:
        for v in lst:
            t = _jtype(v)
            if kind is None:
                if t == "list":
                    raise PatchError("lists of lists are not supported")
                kind = t
            elif t != kind:
                raise PatchError("list element types are not identical: "
                                 + _gofmt(list(lists)))
    return kind


# --------------------------------------------------------------------------------------------
# Strategic merge patch


def strategic_merge_patch(original: dict, patch: dict, kind: str) -> dict:
    """Apply a strategic merge patch to an object of `kind`; inputs are left untouched."""
    if not isinstance(patch, dict):
        raise _bad_request(f"json: cannot unmarshal {_go_json_type(patch)} into Go value of "
                           "type map[string]interface {}")
    return _merge_map(copy.deepcopy(original) if original else {}, copy.deepcopy(patch),
                      _root_schema(kind))


def _merge_map(original: dict, patch: dict, schema: dict[str, _Field]) -> dict:
    """Go mergeMap; both arguments are private copies and may be mutated."""
    if _DIRECTIVE in patch:
        directive = patch.pop(_DIRECTIVE)
        if directive == "replace":
            return _clean_map(patch, schema)
        if directive == "delete":
            return {}
        if directive != "merge":
            patch[_DIRECTIVE] = directive
            raise PatchError(f"unknown patch type: {_gofmt(directive)} in map: {_gofmt(patch)}")

    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)

    for key, value in patch.items():
        delete_list = False
        if key.startswith(_DELETE_PRIMITIVES):
            key = key[len(_DELETE_PRIMITIVES):]
            if not key:
                raise _bad_request("invalid patch format of primitive list")
            delete_list = True
        elif key.startswith("$"):
            continue  # unknown directive: never stored
        if value is None:
            if not delete_list:
                original.pop(key, None)
            continue
        meta = _lookup(schema, key)
        current = original.get(key, _MISSING)
        if current is _MISSING or _jtype(current) != _jtype(value):
            if not delete_list:
                original[key] = _clean(value, meta)
            continue
        if isinstance(value, dict):
            original[key] = _merge_map(current, value, meta.child)
        elif isinstance(value, list):
            original[key] = _merge_list(current, value, meta, delete_list)
        else:
            original[key] = value
    return original


def _clean_map(patch: dict, schema: dict[str, _Field]) -> dict:
    """A patch value taken as is: apply it to nothing, which drops nulls and directives."""
    return _merge_map({}, patch, schema)


def _clean(value: Any, meta: _Field) -> Any:
    if isinstance(value, dict):
        return _clean_map(value, meta.child)
    if isinstance(value, list):
        return _clean_list(value, meta)
    return value


def _clean_list(value: list, meta: _Field) -> list:
    """A list with nothing to merge into: drop directive items, clean the maps (Go
    removeDirectives); no merge-key checks, as Go takes such values verbatim."""
    out = []
    for v in value:
        if isinstance(v, dict):
            if _DIRECTIVE in v:
                continue
            v = _clean_map(v, meta.child)
        out.append(v)
    return out


def _merge_list(original: list, patch: list, meta: _Field, delete_list: bool) -> list:
    """Go mergeSliceHandler: merge lists with a merge strategy, replace the others."""
    if meta.merge or delete_list:
        return _merge_slice(original, patch, meta, delete_list)
    return _clean_list(patch, meta)


def _merge_slice(original: list, patch: list, meta: _Field, delete_list: bool) -> list:
    if not original and not patch:
        return original
    kind = _elem_kind(original, patch)
    if kind != "map":
        if delete_list:
            return [v for v in original if not any(_same(v, d) for d in patch)]
        merged: list = []
        for v in original + patch:
            if not any(_same(v, m) for m in merged):
                merged.append(v)
        patch_items = [v for v in merged if any(_same(v, p) for p in patch)]
        server_only = [v for v in merged if not any(_same(v, p) for p in patch)]
        return _normalize_order(patch_items, server_only, patch, original, None, kind)

    key = meta.merge_key
    if not key:
        raise PatchError("cannot merge lists without merge key for type map")
    original, patch = _apply_list_directives(original, patch, key)
    server_order = list(original)
    merged = list(original)
    for item in patch:
        if key not in item:
            raise _no_merge_key(item, key)
        for i, existing in enumerate(merged):
            if key in existing and _same(existing[key], item[key]):
                merged[i] = _merge_map(existing, item, meta.child)
                break
        else:
            merged.append(_clean_map(item, meta.child))
    patch_items, server_only = _partition_maps(merged, patch, key)
    return _normalize_order(patch_items, server_only, patch, server_order, key, kind)


def _apply_list_directives(original: list, patch: list, key: str) -> tuple[list, list]:
    """Go mergeSliceWithSpecialElements: `$patch: delete` items, `$patch: replace` marker."""
    plain = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if key not in item:
                raise _no_merge_key(item, key)
            original = [v for v in original
                        if not (key in v and _same(v[key], item[key]))]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {_gofmt(directive)} in map: {_gofmt(item)}")
    if replace:
        return [], plain
    return original, plain


def _partition_maps(merged: list, order: list, key: str) -> tuple[list, list]:
    in_patch, server_only = [], []
    for v in merged:
        value = v.get(key, _MISSING)
        found = value is not _MISSING and any(
            isinstance(o, dict) and key in o and _same(o[key], value) for o in order)
        (in_patch if found else server_only).append(v)
    return in_patch, server_only


def _index(items: list, value: Any, key: str | None, kind: str | None) -> int:
    def get(v: Any) -> Any:
        if kind == "map":
            return v.get(key, _MISSING) if isinstance(v, dict) else _MISSING
        return v

    wanted = get(value)
    if wanted is _MISSING:
        return -1
    for i, v in enumerate(items):
        if _same(get(v), wanted):
            return i
    return -1


def _sort_by_order(items: list, order: list, key: str | None, kind: str | None) -> list:
    """Go normalizeSliceOrder: stable sort by position in `order` (unknown items last)."""
    positions = [_index(order, v, key, kind) for v in items]
    ranked = sorted(range(len(items)),
                    key=lambda i: (positions[i] < 0, positions[i] if positions[i] >= 0 else i))
    return [items[i] for i in ranked]


def _normalize_order(patch_items: list, server_only: list, patch_order: list,
                     server_order: list, key: str | None, kind: str | None) -> list:
    """Go normalizeElementOrder + mergeSortedSlice.

    Patch items keep the patch's (or `$setElementOrder`'s) order, server-only items the live
    order, and server-only items are interleaved where the live list had them.
    """
    right = _sort_by_order(patch_items, patch_order, key, kind)
    left = _sort_by_order(server_only, server_order, key, kind)
    out: list = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], key, kind)
            ri = _index(server_order, right[j], key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _apply_retain_keys(original: dict, patch: dict) -> None:
    """`$retainKeys`: drop every key of the live map that the list does not name."""
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise _bad_request("invalid patch format of retainKeys")
    keep = {k for k in retain if isinstance(k, str)}
    for k, v in patch.items():
        if v is None or k.startswith((_DELETE_PRIMITIVES, _SET_ORDER)):
            continue
        if k not in keep:
            raise PatchError("patch content doesn't match retainKeys list")
    for k in list(original):
        if k not in keep:
            del original[k]


def _merge_ordered_lists(original: dict, patch: dict, schema: dict[str, _Field]) -> None:
    """Go mergePatchIntoOriginal: merge each list that has a `$setElementOrder/<list>`.

    Precedence of order: `$setElementOrder` > order in the patch list > order in the live list.
    """
    for directive in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(directive)
        name = directive[len(_SET_ORDER):]
        if not isinstance(order, list) or not name:
            raise _bad_request("invalid patch format of setElementOrder list")
        meta = _lookup(schema, name)
        current = original.get(name, _MISSING)
        incoming = patch.get(name, _MISSING)
        if incoming is None or not meta.merge:
            continue  # `list: null` deletes it; atomic lists ignore ordering
        for value in (current, incoming):
            if value is not _MISSING and not isinstance(value, list):
                raise PatchError(f"expected a []interface {{}}, but received a "
                                 f"{_go_json_type(value)}")
        key = meta.merge_key
        if incoming is not _MISSING:
            _validate_order(incoming, order, key)
        if current is _MISSING and incoming is _MISSING:
            continue
        if incoming is _MISSING:
            merged = current
        elif current is _MISSING:
            merged = _clean_list(incoming, meta)
        else:
            merged = _merge_slice(current, incoming, meta, False)
        patch.pop(name, None)
        kind = _elem_kind(current if current is not _MISSING else [],
                          incoming if incoming is not _MISSING else [])
        if not merged or kind is None:
            original[name] = merged
            continue
        if kind == "map":
            in_order, server_only = _partition_maps(merged, order, key or "")
        else:
            in_order = [v for v in merged if any(_same(v, o) for o in order)]
            server_only = [v for v in merged if not any(_same(v, o) for o in order)]
        live = current if current is not _MISSING else []
        original[name] = _normalize_order(in_order, server_only, order, live, key, kind)


def _validate_order(patch_list: list, order: list, key: str | None) -> None:
    """Go validatePatchWithSetOrderList: patch items must appear in `$setElementOrder` order."""
    if not order or not patch_list:
        return
    if key:
        items = [v for v in patch_list
                 if not (isinstance(v, dict) and v.get(_DIRECTIVE) == "delete")]
    else:
        items = list(patch_list)
    p = s = 0
    while p < len(items) and s < len(order):
        item = items[p]
        if isinstance(item, dict) and _DIRECTIVE in item:
            p += 1
            continue
        if key:
            if not isinstance(item, dict) or key not in item:
                raise _no_merge_key(item if isinstance(item, dict) else {}, key)
            if not isinstance(order[s], dict) or key not in order[s]:
                raise _no_merge_key(order[s] if isinstance(order[s], dict) else {}, key)
            equal = _same(item[key], order[s][key])
        else:
            equal = _same(item, order[s])
        if equal:
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise PatchError(f"The order in patch list:\n{_gofmt(patch_list)}\n doesn't match "
                         f"$setElementOrder list:\n{_gofmt(order)}\n")


# --------------------------------------------------------------------------------------------
# RFC 7386 and RFC 6902


def json_merge_patch(original: dict, patch: dict) -> dict:
    """RFC 7386 JSON merge patch: maps merge, `null` deletes, everything else replaces."""
    result = _rfc7386(original, patch)
    if not isinstance(result, dict):
        raise PatchError(_REJECTED, detail="merge patch did not produce an object")
    return result


def _rfc7386(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _rfc7386(result.get(key), value)
    return result


def json_patch(original: dict, ops: list) -> dict:
    """RFC 6902 JSON patch; failures map to the apiserver's 400/413/422 answers."""
    if not isinstance(ops, list):
        raise _bad_request(f"json: cannot unmarshal {_go_json_type(ops)} into Go value of "
                           "type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise _bad_request(f"json: cannot unmarshal {_go_json_type(op)} into Go value of "
                               "type jsonpatch.Operation")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(f"The allowed maximum operations in a JSON patch is "
                         f"{MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
                         code=413, reason="RequestEntityTooLarge")
    try:  # copy the ops too: jsonpatch inserts their values by reference
        result = jsonpatch.JsonPatch(copy.deepcopy(ops)).apply(original, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError,
            IndexError, TypeError, ValueError) as exc:
        raise PatchError(_REJECTED, detail=str(exc) or type(exc).__name__) from exc
    if not isinstance(result, dict):
        raise PatchError(_REJECTED, detail="JSON patch did not produce an object")
    return result


# --------------------------------------------------------------------------------------------
# Dispatch


def apply_patch(original: dict, body: bytes | str, content_type: str, kind: str) -> dict:
    """Decode a PATCH body and apply it according to its Content-Type."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in (STRATEGIC_MERGE_PATCH, MERGE_PATCH, JSON_PATCH):
        raise UnsupportedPatchType(media)
    data = _decode_json(body, prefix="" if media == STRATEGIC_MERGE_PATCH
                        else "error decoding patch: ")
    if media == JSON_PATCH:
        return json_patch(original, data)
    if media == MERGE_PATCH:
        if not isinstance(data, dict):
            raise _bad_request(f"json: cannot unmarshal {_go_json_type(data)} into Go value "
                               "of type map[string]interface {}")
        return json_merge_patch(original, data)
    if data is None:  # Go decodes `null` into an empty map: a no-op patch
        data = {}
    return strategic_merge_patch(original, data, kind)


def _go_json_type(v: Any) -> str:
    return {"map": "object", "list": "array", "string": "string", "number": "number",
            "bool": "bool", "null": "null"}.get(_jtype(v), type(v).__name__)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _decode_json(body: bytes | str, prefix: str) -> Any:
    if isinstance(body, bytes | bytearray):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_request(f"{prefix}invalid UTF-8 in JSON body") from exc
    else:
        text = body
    if not text.strip():
        raise _bad_request(f"{prefix}unexpected end of JSON input")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text):
            message = "unexpected end of JSON input"
        elif exc.msg == "Expecting value":
            message = f"invalid character '{text[exc.pos]}' looking for beginning of value"
        else:
            message = f"invalid character '{text[exc.pos]}' ({exc.msg.lower()})"
        raise _bad_request(prefix + message) from exc
    except ValueError as exc:
        raise _bad_request(prefix + str(exc)) from exc
