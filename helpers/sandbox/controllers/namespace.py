"""The namespace controller: empties a Terminating namespace, then lets it go."""

from __future__ import annotations

from ..apiserver.resources import RESOURCES, key_of
from ..objects import clone
from ..util import rfc3339
from .base import Controller

NAMESPACED = [key_of(rt) for rt in RESOURCES if rt.namespaced and not rt.extra.get("virtual")]


class NamespaceController(Controller):
    name = "namespace-controller"

    def watches(self):
        def mapper(ev):
            md = ev.object["metadata"]
            return [md["name"]] if md.get("deletionTimestamp") and ev.type != "DELETED" else []

        return {"namespaces": mapper}

    def initial_keys(self):
        return [n["metadata"]["name"] for n in self.client.scan("namespaces")
                if n["metadata"].get("deletionTimestamp")]

    async def sync(self, name: str) -> float | None:
        ns = self.client.peek("namespaces", None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return None
        remaining: dict[str, int] = {}
        for key in NAMESPACED:
            items = self.client.scan(key, name)
            if not items:
                continue
            remaining[key] = len(items)
            for obj in list(items):
                if not obj["metadata"].get("deletionTimestamp"):
                    self.client.delete(key, name, obj["metadata"]["name"], propagation="Background")
        if remaining:
            self._set_conditions(ns, remaining)
            return 0.5
        fresh = clone(ns)
        fresh["spec"] = {}
        self.client.registry.update("namespaces", None, name, fresh, subresource="finalize",
                                    trusted=True)
        return None

    def _set_conditions(self, ns: dict, remaining: dict[str, int]) -> None:
        content = ", ".join(f"{k} has {n} resource instances" for k, n in sorted(remaining.items()))
        conds = [
            {"type": "NamespaceDeletionDiscoveryFailure", "status": "False",
             "reason": "ResourcesDiscovered", "message": "All resources successfully discovered"},
            {"type": "NamespaceDeletionGroupVersionParsingFailure", "status": "False",
             "reason": "ParsedGroupVersions", "message": "All legacy kube types successfully parsed"},
            {"type": "NamespaceDeletionContentFailure", "status": "False",
             "reason": "ContentDeleted", "message": "All content successfully deleted, may be "
                                                    "waiting on finalization"},
            {"type": "NamespaceContentRemaining", "status": "True",
             "reason": "SomeResourcesRemain", "message": f"Some resources are remaining: {content}"},
            {"type": "NamespaceFinalizersRemaining", "status": "False",
             "reason": "ContentHasNoFinalizers", "message": "All content-preserving finalizers "
                                                          "finished"},
        ]
        old = {c["type"]: c for c in ns.get("status", {}).get("conditions") or []}
        for c in conds:
            prev = old.get(c["type"])
            c["lastTransitionTime"] = (prev["lastTransitionTime"]
                                       if prev and prev.get("status") == c["status"] else rfc3339())
        if [dict(c, lastTransitionTime=None) for c in conds] == [
                dict(c, lastTransitionTime=None) for c in ns.get("status", {}).get("conditions") or []]:
            return
        fresh = clone(ns)
        fresh["status"]["conditions"] = conds
        self.client.update_status("namespaces", fresh)
