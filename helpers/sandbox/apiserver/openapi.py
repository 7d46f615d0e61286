"""The smallest OpenAPI that lets `kubectl apply/create -f/replace -f` run.

kubectl refuses those commands (client-side validation, `--validate=strict`) unless it can
download OpenAPI. What it actually checks is whether the PATCH operation for the object's
group-version-kind accepts the `fieldValidation` query parameter; if so it skips client-side
schema validation and sends `fieldValidation=Strict` for the server to enforce. So no schemas
are served:

* v3 (kubectl >= 1.29): `/openapi/v3` lists one document per group-version; each document
  has an item path per kind whose `patch` operation carries `x-kubernetes-group-version-kind`
  and the `fieldValidation` parameter *on the operation* (path-level parameters are ignored).
  No `requestBody`, so kubectl builds strategic merge patches from its compiled-in types.
* v2 (kubectl 1.27/1.28 read only this; later ones fall back to it): the same facts as a
  protobuf gnostic `openapi.v2.Document`, hand-encoded below.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from helpers.sandbox.apiserver.resources import ResourceType

# kubectl asks for `...spec.v2@v1.0+protobuf` but Go's mime parser rejects an `@` in the
# reply's Content-Type ("unexpected content after media subtype"); the apiserver answers this.
V2_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation")


def _patchable(resources: Iterable[ResourceType]) -> list[ResourceType]:
    """Stored, writable kinds; virtual read-only ones (metrics) get no OpenAPI."""
    return [rt for rt in resources if "patch" in rt.verbs and not rt.extra.get("virtual")]


def _gv_path(group: str, version: str) -> str:
    """`api/v1` for the core group, `apis/<group>/<version>` otherwise."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def served_group_versions(resources: Iterable[ResourceType]) -> list[tuple[str, str]]:
    """(group, version) pairs with at least one patchable kind, in discovery order."""
    out: list[tuple[str, str]] = []
    for rt in _patchable(resources):
        for version in rt.versions:
            if (rt.group, version) not in out:
                out.append((rt.group, version))
    return out


def _gv_hash(base_hash: str, gv_path: str) -> str:
    """Per-document hash (kubectl only uses it as a cache key), upper-case like the apiserver."""
    return hashlib.sha512(f"{base_hash}/{gv_path}".encode()).hexdigest().upper()


def v3_root(resources: Iterable[ResourceType], base_hash: str) -> dict[str, Any]:
    """Body of `GET /openapi/v3`: one `serverRelativeURL` per served group-version."""
    paths = {}
    for group, version in served_group_versions(resources):
        gv = _gv_path(group, version)
        paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={_gv_hash(base_hash, gv)}"}
    return {"paths": paths}


def _item_path(rt: ResourceType, version: str) -> str:
    prefix = "/" + _gv_path(rt.group, version)
    if rt.namespaced:
        return f"{prefix}/namespaces/{{namespace}}/{rt.plural}/{{name}}"
    return f"{prefix}/{rt.plural}/{{name}}"


def _collection_path(rt: ResourceType, version: str) -> str:
    return _item_path(rt, version).removesuffix("/{name}")


def _gvk(rt: ResourceType, version: str) -> dict[str, str]:
    return {"group": rt.group, "version": version, "kind": rt.kind}


def _operation_id(action: str, rt: ResourceType, version: str) -> str:
    group = "".join(part.capitalize() for part in rt.group.split(".")) or "Core"
    scope = "Namespaced" if rt.namespaced else ""
    return f"{action}{group}{version.capitalize()}{scope}{rt.kind}"


def _v3_operation(action: str, verb: str, rt: ResourceType, version: str) -> dict[str, Any]:
    """An operation with the query parameters kubectl looks for; no schemas, no requestBody."""
    return {
        "operationId": _operation_id(action, rt, version),
        "parameters": [{"name": name, "in": "query", "schema": {"type": "string"}}
                       for name in QUERY_PARAMS],
        "responses": {"200": {"description": "OK"}, "201": {"description": "Created"}},
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": _gvk(rt, version),
    }


def _path_params(rt: ResourceType, with_name: bool) -> list[dict[str, Any]]:
    names = (["name"] if with_name else []) + (["namespace"] if rt.namespaced else [])
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in names]


def v3_group_version(resources: Iterable[ResourceType], group: str,
                     version: str) -> dict[str, Any] | None:
    """Body of `GET /openapi/v3/<api/v1|apis/g/v>`, or None if that group-version is not served."""
    kinds = [rt for rt in _patchable(resources) if rt.group == group and version in rt.versions]
    if not kinds:
        return None
    paths: dict[str, Any] = {}
    for rt in kinds:
        paths[_collection_path(rt, version)] = {
            "post": _v3_operation("create", "post", rt, version),
            "parameters": _path_params(rt, with_name=False),
        }
        paths[_item_path(rt, version)] = {
            "put": _v3_operation("replace", "put", rt, version),
            "patch": _v3_operation("patch", "patch", rt, version),
            "parameters": _path_params(rt, with_name=True),
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": {}},
    }


# --------------------------------------------------------------------------- v2 protobuf
# Field numbers from google/gnostic openapiv2/OpenAPIv2.proto.


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _ld(number: int, payload: bytes | str) -> bytes:
    """One length-delimited field (every field in this document is one)."""
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _v2_query_param(name: str) -> bytes:
    """ParametersItem{1 Parameter{2 NonBodyParameter{3 QueryParameterSubSchema}}}."""
    sub_schema = _ld(2, "query") + _ld(4, name) + _ld(6, "string")
    return _ld(1, _ld(2, _ld(3, sub_schema)))


def _v2_gvk_extension(rt: ResourceType, version: str) -> bytes:
    """NamedAny{1 name, 2 Any{2 yaml}}; kubectl yaml-decodes it into a string map."""
    gvk = _gvk(rt, version)
    yaml = "".join(f"{key}: {json.dumps(gvk[key])}\n" for key in sorted(gvk))
    return _ld(1, "x-kubernetes-group-version-kind") + _ld(2, _ld(2, yaml))


def _v2_path(rt: ResourceType, version: str) -> bytes:
    """NamedPathItem{1 name, 2 PathItem{8 patch Operation{5 operationId, 8 parameters[],
    13 vendor_extension[]}}}."""
    operation = (_ld(5, _operation_id("patch", rt, version))
                 + b"".join(_ld(8, _v2_query_param(p)) for p in QUERY_PARAMS)
                 + _ld(13, _v2_gvk_extension(rt, version)))
    return _ld(1, _item_path(rt, version)) + _ld(2, _ld(8, operation))


def v2_protobuf(resources: Iterable[ResourceType]) -> bytes:
    """Body of `GET /openapi/v2` (Content-Type `V2_CONTENT_TYPE`): a gnostic Document
    {1 swagger, 2 info{1 title, 2 version}, 8 paths{2 path[]}} with one path per kind."""
    paths = b"".join(_ld(2, _v2_path(rt, version))
                     for rt in _patchable(resources) for version in rt.versions)
    info = _ld(1, "Kubernetes") + _ld(2, "unversioned")
    return _ld(1, "2.0") + _ld(2, info) + _ld(8, paths)
