"""The API's verbs with Kubernetes semantics, shared by HTTP handlers and in-process clients.

Create, update, patch and delete run through one path here: namespace admission, defaulting,
validation, strategies, optimistic concurrency, graceful deletion and finalizers. The HTTP
layer only decodes requests and encodes replies; controllers call the same methods through
`client.Client`, so their writes obey the same rules as kubectl's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import timedelta

from ..objects import clone
from ..storage.store import Store
from ..util import now, random_suffix, rfc3339
from . import errors
from .defaults import apply_defaults
from .patch import PatchError, UnsupportedPatchType, apply_patch, strategic_merge_patch
from .resources import ResourceType, by_key
from .selectors import (
    LabelSelector,
    SelectorError,
    check_field_labels,
    parse_field_selector,
    parse_label_selector,
)
from .strategies import strategy_for
from .validation import prune_unknown_fields, unknown_fields, validate

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")

# Metadata the server owns: a client's update never changes these.
SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
               "generation", "selfLink")


class Registry:
    def __init__(self, store: Store):
        self.store = store
        self._strategies = {}

    # -- helpers ---------------------------------------------------------------------------
    def strategy(self, key: str):
        s = self._strategies.get(key)
        if s is None:
            s = self._strategies[key] = strategy_for(by_key(key))
        return s

    @staticmethod
    def _ns_for(rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rt.namespaced else ""

    def get_ref(self, key: str, namespace: str | None, name: str) -> dict | None:
        """The stored object, not a copy: for read-only use."""
        rt = by_key(key)
        return self.store.get(key, self._ns_for(rt, namespace), name)

    def get(self, key: str, namespace: str | None, name: str) -> dict:
        obj = self.get_ref(key, namespace, name)
        if obj is None:
            rt = by_key(key)
            raise errors.not_found(rt.group_resource, name, rt.group, rt.plural)
        return obj

    def list(self, key: str, namespace: str | None = None, *, label_selector: str | LabelSelector | None = None,
             field_selector: str | None = None) -> tuple[list[dict], str]:
        """Stored objects (not copies) matching the selectors, and the list resourceVersion."""
        rt = by_key(key)
        items: Iterable[dict] = self.store.items(key, namespace if rt.namespaced else None)
        try:
            if label_selector:
                sel = (parse_label_selector(label_selector) if isinstance(label_selector, str)
                       else label_selector)
                items = [o for o in items if sel.matches(o["metadata"].get("labels"))]
            if field_selector:
                fsel = parse_field_selector(field_selector)
                check_field_labels(key, fsel)
                items = [o for o in items if fsel.matches(o)]
        except SelectorError as e:
            raise errors.bad_request(str(e)) from None
        out = sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out, str(self.store.rv)

    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        if not rt.namespaced:
            return
        ns = self.store.get("namespaces", "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", namespace, "", "namespaces")
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                rt.group_resource, name,
                f"unable to create new content in namespace {namespace} because it is being terminated")

    def _check_fields(self, rt: ResourceType, obj: dict, field_validation: str,
                      warnings: list[str], decoding: bool = True) -> dict:
        """Unknown fields: Strict rejects them, Warn reports them, both then prune them.

        A request body (create, replace) fails while being decoded into the kind, so the real
        message is prefixed `<Kind> in version "<v>" cannot be handled as a <Kind>: `; a patch
        result is not decoded that way (`decoding=False`)."""
        key = rt.plural
        unknown = unknown_fields(key, obj)
        if unknown:
            if field_validation == "Strict":
                if len(unknown) == 1:
                    msg = f'strict decoding error: unknown field "{unknown[0]}"'
                else:
                    msg = "strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown)
                if decoding:
                    msg = (f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                           + msg)
                raise errors.bad_request(msg)
            if field_validation == "Warn":
                warnings.extend(f'unknown field "{u}"' for u in unknown)
            obj = prune_unknown_fields(key, obj)
        return obj

    def _validate(self, rt: ResourceType, obj: dict, old: dict | None, *, schema: bool) -> None:
        causes = validate(rt.plural, obj, old) if schema else validate(rt.plural, obj, old, schema=False)
        if causes:
            raise errors.invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), causes)

    # -- create ----------------------------------------------------------------------------
    def create(self, key: str, namespace: str | None, obj: dict, *, dry_run: bool = False,
               field_validation: str = "Ignore", trusted: bool = False) -> tuple[dict, list[str]]:
        """Create `obj` (a copy is stored). `trusted` skips schema checks for in-process callers."""
        rt = by_key(key)
        obj = clone(obj)
        _check_metadata(rt, obj)
        warnings: list[str] = []
        md = obj.setdefault("metadata", {})
        if md is None:
            md = obj["metadata"] = {}
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        ns = self._ns_for(rt, namespace or md.get("namespace"))
        if rt.namespaced:
            if namespace and md.get("namespace") and md["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request")
            if not ns:
                raise errors.bad_request("the server could not find the requested resource")
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = self._generate_name(key, ns, md["generateName"])
            else:
                raise errors.invalid(rt.kind, rt.group, "", [errors.Cause(
                    "FieldValueRequired", "Required value: name or generateName is required",
                    "metadata.name")])
        name = md["name"]
        if not trusted:
            obj = self._check_fields(rt, obj, field_validation, warnings)
            md = obj["metadata"]
        self._check_namespace(rt, ns, name)
        for f in SERVER_META:
            md.pop(f, None)
        md.pop("resourceVersion", None)
        strat = self.strategy(key)
        md["uid"] = str(uuid.uuid4())
        apply_defaults(key, obj)
        strat.prepare_create(self, obj)
        self._validate(rt, obj, None, schema=not trusted)
        if self.store.get(key, ns, name) is not None:
            raise errors.already_exists(rt.group_resource, name, rt.group, rt.plural)
        strat.admit_create(self, obj)
        md["creationTimestamp"] = rfc3339()
        if dry_run:
            md["resourceVersion"] = ""
            return obj, warnings
        self.store.put(key, obj, created=True)
        strat.after_create(self, obj)
        return obj, warnings

    def _generate_name(self, key: str, ns: str, base: str) -> str:
        base = base[:58]
        for _ in range(8):
            cand = base + random_suffix()
            if self.store.get(key, ns, cand) is None:
                return cand
        rt = by_key(key)
        raise errors.ApiError(409, "AlreadyExists", f'{rt.group_resource} "{base}" already exists, '
                              "the server was not able to generate a unique name for the object")

    # -- update ----------------------------------------------------------------------------
    def update(self, key: str, namespace: str | None, name: str, obj: dict, *,
               subresource: str | None = None, dry_run: bool = False,
               field_validation: str = "Ignore", trusted: bool = False,
               _patched: bool = False) -> tuple[dict, list[str]]:
        rt = by_key(key)
        ns = self._ns_for(rt, namespace)
        old = self.store.get(key, ns, name)
        if old is None:
            raise errors.not_found(rt.group_resource, name, rt.group, rt.plural)
        new = clone(obj)
        _check_metadata(rt, new)
        warnings: list[str] = []
        md = new.setdefault("metadata", {}) or {}
        new["metadata"] = md
        if md.get("name") and md["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({md['name']}) does not match the name on the URL ({name})")
        rv = md.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.group_resource, name, rt.group, rt.plural)
        if not trusted and subresource is None:
            new = self._check_fields(rt, new, field_validation, warnings, decoding=not _patched)
            md = new["metadata"]
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        md["name"] = name
        if rt.namespaced:
            md["namespace"] = ns
        for f in SERVER_META:
            if f in old["metadata"]:
                md[f] = old["metadata"][f]
            else:
                md.pop(f, None)
        strat = self.strategy(key)
        if subresource in ("status", "finalize"):
            new = strat.prepare_status_update(self, new, old, subresource)
        else:
            apply_defaults(key, new)
            strat.prepare_update(self, new, old)
            self._validate(rt, new, old, schema=not trusted)
            strat.validate_update_extra(self, new, old)
        return self._commit_update(key, rt, new, old, dry_run), warnings

    def _commit_update(self, key: str, rt: ResourceType, new: dict, old: dict, dry_run: bool) -> dict:
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old  # a no-op keeps its resourceVersion and sends no watch event
        if dry_run:
            return new
        md = new["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers") and self._may_remove(key, new):
            return self._remove(key, new)
        self.store.put(key, new, created=False)
        return new

    @staticmethod
    def _may_remove(key: str, obj: dict) -> bool:
        """A terminating pod waits for its kubelet (grace 0); other kinds go once finalizers are gone."""
        if key == "pods":
            return obj["metadata"].get("deletionGracePeriodSeconds", 0) == 0
        if key == "namespaces":
            return not (obj.get("spec") or {}).get("finalizers")
        return True

    # -- patch -----------------------------------------------------------------------------
    def patch(self, key: str, namespace: str | None, name: str, body: bytes | str | dict | list,
              content_type: str, *, subresource: str | None = None, dry_run: bool = False,
              field_validation: str = "Ignore", trusted: bool = False,
              force: bool = False) -> tuple[dict, list[str], bool]:
        """Returns (object, warnings, created). Server-side apply may create."""
        rt = by_key(key)
        ns = self._ns_for(rt, namespace)
        old = self.store.get(key, ns, name)
        ctype = content_type.split(";")[0].strip()
        if ctype == "application/apply-patch+yaml":
            return self._apply(key, rt, ns, name, body, old, dry_run, field_validation)
        if old is None:
            raise errors.not_found(rt.group_resource, name, rt.group, rt.plural)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            patched = apply_patch(old, body, ctype, rt.kind)
        except UnsupportedPatchType:
            raise errors.unsupported_media_type(ctype) from None
        except PatchError as e:
            raise errors.ApiError(422 if ctype == "application/json-patch+json" else 400,
                                  "Invalid" if ctype == "application/json-patch+json" else "BadRequest",
                                  str(e)) from None
        patched.setdefault("metadata", {})
        # A patch may carry metadata.resourceVersion as a precondition; otherwise it applies
        # to whatever is stored now.
        if patched["metadata"].get("resourceVersion") is None:
            patched["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        obj, warnings = self.update(key, ns, name, patched, subresource=subresource, _patched=True,
                                    dry_run=dry_run, field_validation=field_validation,
                                    trusted=trusted)
        return obj, warnings, False

    def _apply(self, key, rt, ns, name, body, old, dry_run, field_validation):
        """Server-side apply, simplified: create if absent, else merge the applied config."""
        import yaml

        if isinstance(body, (bytes, str)):
            try:
                applied = yaml.safe_load(body)
            except yaml.YAMLError as e:
                raise errors.bad_request(f"error decoding YAML: {e}") from None
        else:
            applied = body
        if not isinstance(applied, dict):
            raise errors.bad_request("apply body must be an object")
        if old is None:
            obj, warnings = self.create(key, ns, applied, dry_run=dry_run,
                                        field_validation=field_validation)
            return obj, warnings, True
        applied.setdefault("metadata", {}).pop("resourceVersion", None)
        try:
            merged = strategic_merge_patch(old, applied, rt.kind)
        except PatchError as e:
            raise errors.bad_request(str(e)) from None
        obj, warnings = self.update(key, ns, name, merged, dry_run=dry_run,
                                    field_validation=field_validation)
        return obj, warnings, False

    # -- delete ----------------------------------------------------------------------------
    def delete(self, key: str, namespace: str | None, name: str, *,
               grace_period: int | None = None, propagation: str | None = None,
               preconditions: dict | None = None, dry_run: bool = False) -> dict:
        rt = by_key(key)
        ns = self._ns_for(rt, namespace)
        stored = self.store.get(key, ns, name)
        if stored is None:
            raise errors.not_found(rt.group_resource, name, rt.group, rt.plural)
        if preconditions:
            uid = preconditions.get("uid")
            if uid and uid != stored["metadata"]["uid"]:
                raise errors.ApiError(
                    409, "Conflict",
                    f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                    f"{stored['metadata']['uid']}")
            rv = preconditions.get("resourceVersion")
            if rv and rv != stored["metadata"]["resourceVersion"]:
                raise errors.ApiError(
                    409, "Conflict",
                    f"Precondition failed: ResourceVersion in precondition: {rv}, "
                    f"ResourceVersion in object meta: {stored['metadata']['resourceVersion']}")
        obj = clone(stored)
        md = obj["metadata"]
        if key == "namespaces":
            return self._delete_namespace(obj, dry_run)
        if key == "pods":
            grace = self._pod_grace(obj, grace_period)
            if grace > 0:
                return self._graceful(key, obj, stored, grace, dry_run)
        if propagation == "Orphan":
            self._add_finalizer(md, "orphan")
        elif propagation == "Foreground":
            self._add_finalizer(md, "foregroundDeletion")
        if md.get("finalizers"):
            if not md.get("deletionTimestamp"):
                md["deletionTimestamp"] = rfc3339()
                md["deletionGracePeriodSeconds"] = 0
            if dry_run or obj == stored:
                return obj
            self.store.put(key, obj, created=False)
            return obj
        if dry_run:
            return obj
        return self._remove(key, obj)

    @staticmethod
    def _add_finalizer(md: dict, finalizer: str) -> None:
        fins = md.setdefault("finalizers", [])
        if finalizer not in fins:
            fins.append(finalizer)

    @staticmethod
    def _pod_grace(pod: dict, requested: int | None) -> int:
        spec, status = pod.get("spec", {}), pod.get("status", {})
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return max(0, requested)
        return int(spec.get("terminationGracePeriodSeconds", 30))

    def _graceful(self, key: str, obj: dict, stored: dict, grace: int, dry_run: bool) -> dict:
        md = obj["metadata"]
        current = md.get("deletionGracePeriodSeconds")
        if md.get("deletionTimestamp") and current is not None and current <= grace:
            return obj  # already terminating with a shorter or equal grace
        md["deletionTimestamp"] = rfc3339(now() + timedelta(seconds=grace))
        md["deletionGracePeriodSeconds"] = grace
        if dry_run:
            return obj
        self.store.put(key, obj, created=False)
        return obj

    def _delete_namespace(self, obj: dict, dry_run: bool) -> dict:
        name = obj["metadata"]["name"]
        if name in PROTECTED_NAMESPACES:
            raise errors.forbidden("namespaces", name, "this namespace may not be deleted")
        if obj["metadata"].get("deletionTimestamp") or dry_run:
            return obj
        obj["metadata"]["deletionTimestamp"] = rfc3339()
        obj["metadata"]["deletionGracePeriodSeconds"] = 0
        obj.setdefault("status", {})["phase"] = "Terminating"
        self.store.put("namespaces", obj, created=False)
        return obj

    def _remove(self, key: str, obj: dict) -> dict:
        md = obj["metadata"]
        final = self.store.remove(key, md.get("namespace", ""), md["name"])
        self.strategy(key).after_delete(self, final or obj)
        return final or obj

    def delete_collection(self, key: str, namespace: str | None, *, label_selector: str | None = None,
                          field_selector: str | None = None, grace_period: int | None = None,
                          propagation: str | None = None, dry_run: bool = False) -> list[dict]:
        items, _ = self.list(key, namespace, label_selector=label_selector, field_selector=field_selector)
        out = []
        for o in list(items):
            try:
                out.append(self.delete(key, o["metadata"].get("namespace"), o["metadata"]["name"],
                                       grace_period=grace_period, propagation=propagation,
                                       dry_run=dry_run))
            except errors.ApiError as e:
                if e.code != 404:
                    raise
        return out



_GO_JSON_TYPES = {str: "string", list: "array", bool: "bool", int: "number", float: "number"}


def _check_metadata(rt: ResourceType, obj: dict) -> None:
    """A body whose metadata is not an object fails decoding, as in the real apiserver."""
    md = obj.get("metadata")
    if md is None or isinstance(md, dict):
        return
    raise errors.bad_request(
        f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: json: cannot '
        f"unmarshal {_GO_JSON_TYPES.get(type(md), 'value')} into Go struct field "
        f"{rt.kind}.metadata of type v1.ObjectMeta")
