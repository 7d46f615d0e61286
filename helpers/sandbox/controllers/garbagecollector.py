"""The garbage collector: dependents follow their owners through ownerReferences.

Background deletion removes the owner first and its dependents afterwards; Foreground holds
the owner (finalizer `foregroundDeletion`) until dependents are gone; Orphan (finalizer
`orphan`) strips the ownerReferences and leaves dependents running.
"""

from __future__ import annotations

from ..apiserver.resources import RESOURCES, key_of
from ..objects import clone
from .base import Controller

STORED = [key_of(rt) for rt in RESOURCES if not rt.extra.get("virtual")]
GC_FINALIZERS = ("orphan", "foregroundDeletion")


class GarbageCollector(Controller):
    name = "garbage-collector"
    resync_period = 20.0

    def watches(self):
        def mapper(ev):
            md = ev.object["metadata"]
            keys = []
            if ev.type == "DELETED" or (md.get("deletionTimestamp") and
                                        set(md.get("finalizers") or ()) & set(GC_FINALIZERS)):
                keys.append(f"owner/{md['uid']}")
            if ev.type != "DELETED" and md.get("ownerReferences"):
                keys.extend(f"owner/{r['uid']}" for r in md["ownerReferences"]
                            if self._find_owner(r, md.get("namespace")) is None)
            return keys

        return {key: mapper for key in STORED}

    def initial_keys(self):
        seen = set()
        for key in STORED:
            for obj in self.client.scan(key):
                md = obj["metadata"]
                for r in md.get("ownerReferences") or []:
                    if r["uid"] not in seen and self._find_owner(r, md.get("namespace")) is None:
                        seen.add(r["uid"])
                if md.get("deletionTimestamp") and set(md.get("finalizers") or ()) & set(GC_FINALIZERS):
                    seen.add(md["uid"])
        return [f"owner/{u}" for u in seen]

    def _find_owner(self, ref: dict, namespace: str | None) -> dict | None:
        for rt in RESOURCES:
            if rt.kind == ref.get("kind") and ref.get("apiVersion", "").endswith(rt.version) \
                    and not rt.extra.get("virtual"):
                obj = self.client.peek(key_of(rt), namespace if rt.namespaced else None, ref["name"])
                if obj is not None and obj["metadata"].get("uid") == ref["uid"]:
                    return obj
                return None
        return None

    def _dependents(self, uid: str) -> list[tuple[str, dict]]:
        out = []
        for key in STORED:
            for obj in self.client.scan(key):
                if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or []):
                    out.append((key, obj))
        return out

    def _owner_by_uid(self, uid: str) -> tuple[str, dict] | None:
        for key in STORED:
            for obj in self.client.scan(key):
                if obj["metadata"].get("uid") == uid:
                    return key, obj
        return None

    async def sync(self, key: str) -> float | None:
        uid = key.split("/", 1)[1]
        found = self._owner_by_uid(uid)
        dependents = self._dependents(uid)
        if found is None:
            # Owner gone: delete dependents whose every owner is gone.
            for dkey, dep in dependents:
                md = dep["metadata"]
                if md.get("deletionTimestamp"):
                    continue
                others = [r for r in md.get("ownerReferences") or [] if r.get("uid") != uid]
                if any(self._find_owner(r, md.get("namespace")) for r in others):
                    self._strip(dkey, dep, uid)
                    continue
                self.client.delete(dkey, md.get("namespace"), md["name"], propagation="Background")
            return None
        okey, owner = found
        fins = owner["metadata"].get("finalizers") or []
        if not owner["metadata"].get("deletionTimestamp"):
            return None
        if "orphan" in fins:
            for dkey, dep in dependents:
                self._strip(dkey, dep, uid)
            self._remove_finalizer(okey, owner, "orphan")
            return None
        if "foregroundDeletion" in fins:
            blocking = []
            for dkey, dep in dependents:
                md = dep["metadata"]
                if not md.get("deletionTimestamp"):
                    self.client.delete(dkey, md.get("namespace"), md["name"], propagation="Foreground")
                blocking.append(dep)
            if blocking:
                return 0.5
            self._remove_finalizer(okey, owner, "foregroundDeletion")
        return None

    def _strip(self, key: str, dep: dict, uid: str) -> None:
        fresh = self.client.try_get(key, dep["metadata"].get("namespace"), dep["metadata"]["name"])
        if fresh is None:
            return
        refs = [r for r in fresh["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        if refs:
            fresh["metadata"]["ownerReferences"] = refs
        else:
            fresh["metadata"].pop("ownerReferences", None)
        self.client.update(key, fresh)

    def _remove_finalizer(self, key: str, owner: dict, finalizer: str) -> None:
        fresh = clone(owner)
        fresh["metadata"]["finalizers"] = [f for f in fresh["metadata"].get("finalizers") or []
                                           if f != finalizer]
        if not fresh["metadata"]["finalizers"]:
            del fresh["metadata"]["finalizers"]
        self.client.update(key, fresh)
