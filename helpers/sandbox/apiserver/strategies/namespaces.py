"""Namespaces: created Active with their default ServiceAccount; deleted through Terminating."""

from __future__ import annotations

from ..errors import ApiError
from ..strategy import Strategy


class NamespaceStrategy(Strategy):
    def prepare_create(self, reg, obj: dict) -> None:
        obj["status"] = {"phase": "Active"}
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])

    def prepare_update(self, reg, new: dict, old: dict) -> None:
        new["status"] = old.get("status", {})
        # spec.finalizers changes only through /finalize
        new["spec"] = old.get("spec", {})

    def prepare_status_update(self, reg, new: dict, old: dict, subresource: str = "status") -> dict:
        if subresource == "finalize":
            return _finalize_update(new, old)
        return super().prepare_status_update(reg, new, old)

    def after_create(self, reg, obj: dict) -> None:
        """Done synchronously so a pod created right after its namespace is admitted, where a
        real cluster's serviceaccount and root-ca controllers race the user."""
        ns = obj["metadata"]["name"]
        for key, body in (
            ("serviceaccounts", {"metadata": {"name": "default"}}),
            ("configmaps", {"metadata": {"name": "kube-root-ca.crt", "annotations": {
                "kubernetes.io/description": "Contains a CA bundle that can be used to verify "
                "the kube-apiserver when using internal endpoints such as the internal service IP "
                "or kubernetes.default.svc. No other usage is guaranteed across distributions of "
                "Kubernetes clusters."}},
                "data": {"ca.crt": reg.ca_pem if hasattr(reg, "ca_pem") else ""}}),
        ):
            try:
                reg.create(key, ns, body, trusted=True)
            except ApiError as e:
                if e.code != 409:
                    raise


def _finalize_update(new: dict, old: dict) -> dict:
    from ...objects import clone
    out = clone(old)
    out["spec"] = {"finalizers": list((new.get("spec") or {}).get("finalizers") or [])}
    if not out["spec"]["finalizers"]:
        out["spec"] = {}
    return out
