"""The in-process API client used by controllers and the node.

The same verbs and semantics as the HTTP API (it calls the same registry), minus HTTP and
schema checks: like client-go talking to kube-apiserver, but in one process. Reads return
copies, so callers may mutate what they get.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .apiserver import errors
from .apiserver.registry import Registry
from .objects import clone
from .storage.store import WatchEvent

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
}


class Client:
    def __init__(self, registry: Registry):
        self.registry = registry
        # The metrics API's source (the node's metrics), as the HPA controller reads it.
        self.metrics = None

    # reads
    def get(self, key: str, namespace: str | None, name: str) -> dict:
        return clone(self.registry.get(key, namespace, name))

    def try_get(self, key: str, namespace: str | None, name: str) -> dict | None:
        obj = self.registry.get_ref(key, namespace, name)
        return clone(obj) if obj is not None else None

    def peek(self, key: str, namespace: str | None, name: str) -> dict | None:
        """The stored object without copying: never mutate it."""
        return self.registry.get_ref(key, namespace, name)

    def list(self, key: str, namespace: str | None = None, *, label_selector=None,
             field_selector: str | None = None) -> list[dict]:
        items, _ = self.registry.list(key, namespace, label_selector=label_selector,
                                      field_selector=field_selector)
        return [clone(o) for o in items]

    def scan(self, key: str, namespace: str | None = None, *, label_selector=None,
             field_selector: str | None = None) -> list[dict]:
        """Like list, but returns stored objects uncopied: for read-only passes over many."""
        items, _ = self.registry.list(key, namespace, label_selector=label_selector,
                                      field_selector=field_selector)
        return items

    # writes
    def create(self, key: str, obj: dict, namespace: str | None = None) -> dict:
        ns = namespace or obj.get("metadata", {}).get("namespace")
        created, _ = self.registry.create(key, ns, obj, trusted=True)
        return clone(created)

    def update(self, key: str, obj: dict) -> dict:
        md = obj["metadata"]
        updated, _ = self.registry.update(key, md.get("namespace"), md["name"], obj, trusted=True)
        return clone(updated)

    def update_status(self, key: str, obj: dict) -> dict:
        md = obj["metadata"]
        updated, _ = self.registry.update(key, md.get("namespace"), md["name"], obj,
                                          subresource="status", trusted=True)
        return clone(updated)

    def patch(self, key: str, namespace: str | None, name: str, patch: dict | list,
              patch_type: str = "merge", subresource: str | None = None) -> dict:
        obj, _, _ = self.registry.patch(key, namespace, name, json.dumps(patch),
                                        PATCH_TYPES[patch_type], subresource=subresource,
                                        trusted=True)
        return clone(obj)

    def delete(self, key: str, namespace: str | None, name: str, *,
               grace_period: int | None = None, propagation: str | None = None,
               preconditions: dict | None = None) -> dict | None:
        """Delete; returns None when the object was already gone."""
        try:
            return self.registry.delete(key, namespace, name, grace_period=grace_period,
                                        propagation=propagation, preconditions=preconditions)
        except errors.ApiError as e:
            if e.code == 404:
                return None
            raise

    # change notifications (the in-process informer)
    def on_change(self, keys: set[str] | frozenset[str], handler: Callable[[WatchEvent], None]) -> None:
        """Call `handler` synchronously after every write to one of `keys`.

        Handlers must only record or enqueue work; they run inside the writer's call.
        """
        wanted = frozenset(keys)

        def listener(event: WatchEvent) -> None:
            if event.resource in wanted:
                handler(event)

        self.registry.store.add_listener(listener)
