"""Recording core/v1 Events the way client-go's recorder does: repeats bump `count`.

`kubectl describe` and `kubectl get events` read these, so names, sources and the
aggregation of identical events follow the real recorder.
"""

from __future__ import annotations

import time

from ..apiserver.errors import ApiError
from ..client import Client
from ..util import rfc3339, rfc3339_micro


class EventRecorder:
    def __init__(self, client: Client, component: str, host: str | None = None):
        self.client = client
        self.component = component
        self.host = host
        # (ns, involved uid, reason, message, type) -> event name
        self._seen: dict[tuple, str] = {}

    def event(self, obj: dict, etype: str, reason: str, message: str,
              field_path: str | None = None) -> None:
        md = obj.get("metadata", {})
        ns = md.get("namespace") or "default"
        key = (ns, md.get("uid"), reason, message, etype, field_path)
        stamp = rfc3339()
        name = self._seen.get(key)
        if name is not None:
            existing = self.client.try_get("events", ns, name)
            if existing is not None:
                existing["count"] = int(existing.get("count", 1)) + 1
                existing["lastTimestamp"] = stamp
                try:
                    self.client.update("events", existing)
                    return
                except ApiError:
                    pass
        involved = {
            "kind": obj.get("kind"),
            "namespace": md.get("namespace"),
            "name": md.get("name"),
            "uid": md.get("uid"),
            "apiVersion": obj.get("apiVersion"),
            "resourceVersion": md.get("resourceVersion"),
        }
        if field_path:
            involved["fieldPath"] = field_path
        involved = {k: v for k, v in involved.items() if v}
        name = f"{md.get('name')}.{time.time_ns():x}"
        source = {"component": self.component}
        if self.host:
            source["host"] = self.host
        ev = {
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": etype,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host or "",
        }
        ev.pop("eventTime")
        try:
            self.client.create("events", ev, ns)
        except ApiError:
            return  # e.g. the namespace is going away: events are best effort
        self._seen[key] = name
        if len(self._seen) > 5000:
            self._seen.clear()

    def normal(self, obj: dict, reason: str, message: str, **kw) -> None:
        self.event(obj, "Normal", reason, message, **kw)

    def warning(self, obj: dict, reason: str, message: str, **kw) -> None:
        self.event(obj, "Warning", reason, message, **kw)


__all__ = ["EventRecorder", "rfc3339_micro"]
