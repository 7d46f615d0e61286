"""Per-kind rules the registry applies on create, update and delete.

Mirrors `pkg/registry/*/strategy.go`: what a create clears, what an update may change, when
`metadata.generation` moves, and what the status subresource may touch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..objects import clone

if TYPE_CHECKING:
    from .registry import Registry
    from .resources import ResourceType


class Strategy:
    """Defaults for a kind without special rules."""

    # Kinds whose create clears `status` (the API owns it through /status).
    clears_status_on_create = False
    # Metadata fields besides spec whose change bumps generation (Deployment: annotations).
    generation_tracks_annotations = False
    # Whether the status subresource may change annotations (Deployment's revision annotation).
    status_updates_annotations = False

    def __init__(self, rt: ResourceType):
        self.rt = rt

    def prepare_create(self, reg: Registry, obj: dict) -> None:
        if self.clears_status_on_create:
            obj["status"] = {}
        if self.rt.has_generation:
            obj["metadata"]["generation"] = 1

    def admit_create(self, reg: Registry, obj: dict) -> None:
        """Admission on create: allocations and defaults that need cluster state."""

    def after_create(self, reg: Registry, obj: dict) -> None:
        """Side effects once stored (a namespace gets its default ServiceAccount)."""

    def prepare_update(self, reg: Registry, new: dict, old: dict) -> None:
        """Main-resource update: status is owned by /status, so keep the stored one."""
        if ("status" in old or "status" in new) and self.has_status_subresource:
            if "status" in old:
                new["status"] = clone(old["status"])
            else:
                new.pop("status", None)
        if self.rt.has_generation:
            gen = old["metadata"].get("generation", 1)
            changed = new.get("spec") != old.get("spec")
            if self.generation_tracks_annotations:
                changed = changed or (new["metadata"].get("annotations") or {}) != (
                    old["metadata"].get("annotations") or {})
            new["metadata"]["generation"] = gen + 1 if changed else gen

    def prepare_status_update(self, reg: Registry, new: dict, old: dict,
                              subresource: str = "status") -> dict:
        """/status update: only status (and for some kinds annotations) may change."""
        out = clone(old)
        out["status"] = clone(new.get("status") or {})
        if self.status_updates_annotations:
            ann = new.get("metadata", {}).get("annotations")
            if ann:
                out["metadata"]["annotations"] = clone(ann)
            else:
                out["metadata"].pop("annotations", None)
        rv = new.get("metadata", {}).get("resourceVersion")
        if rv:
            out["metadata"]["resourceVersion"] = rv
        return out

    @property
    def has_status_subresource(self) -> bool:
        return "status" in self.rt.subresources

    def validate_update_extra(self, reg: Registry, new: dict, old: dict) -> None:
        """Kind-specific update rules beyond the schema (raise ApiError)."""

    def after_delete(self, reg: Registry, obj: dict) -> None:
        """Release what the object held (ports, addresses)."""
