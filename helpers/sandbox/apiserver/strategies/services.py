"""Services: ClusterIP and NodePort allocation, kept across updates, released on delete."""

from __future__ import annotations

from ... import network
from ..errors import Cause, invalid
from ..strategy import Strategy


def _used_ips(reg, *, reserved: bool) -> set[str]:
    """Addresses taken by services; with `reserved`, also those auto-allocation must avoid."""
    used = {network.KUBERNETES_SERVICE_IP, network.DNS_SERVICE_IP} if reserved else set()
    for svc in reg.store.items("services"):
        for ip in svc.get("spec", {}).get("clusterIPs") or []:
            used.add(ip)
    return used


def _used_node_ports(reg, skip_uid: str | None) -> set[int]:
    used: set[int] = set()
    for svc in reg.store.items("services"):
        if skip_uid and svc["metadata"].get("uid") == skip_uid:
            continue
        for p in svc.get("spec", {}).get("ports") or []:
            if p.get("nodePort"):
                used.add(int(p["nodePort"]))
    return used


def _wants_node_ports(spec: dict) -> bool:
    if spec.get("type") in ("NodePort",):
        return True
    return spec.get("type") == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True)


class ServiceStrategy(Strategy):
    def prepare_create(self, reg, obj: dict) -> None:
        obj["status"] = {"loadBalancer": {}}

    def admit_create(self, reg, obj: dict) -> None:
        self._allocate(reg, obj, None)

    def prepare_update(self, reg, new: dict, old: dict) -> None:
        new["status"] = old.get("status", {"loadBalancer": {}})
        spec, old_spec = new.setdefault("spec", {}), old.get("spec", {})
        # Allocated values survive updates that leave them out (kubectl replace, apply).
        if not spec.get("clusterIP") and old_spec.get("clusterIP") and spec.get("type") != "ExternalName":
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = list(old_spec.get("clusterIPs") or [old_spec["clusterIP"]])
        if _wants_node_ports(spec):
            old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                         for p in old_spec.get("ports") or []}
            for p in spec.get("ports") or []:
                if not p.get("nodePort"):
                    prev = old_ports.get((p.get("port"), p.get("protocol", "TCP")))
                    if prev:
                        p["nodePort"] = prev
        else:
            for p in spec.get("ports") or []:
                p.pop("nodePort", None)
        self._allocate(reg, new, old)

    def _allocate(self, reg, obj: dict, old: dict | None) -> None:
        spec = obj.setdefault("spec", {})
        name = obj["metadata"]["name"]
        if spec.get("type") == "ExternalName":
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
            return
        ip = spec.get("clusterIP")
        if ip == "None":
            spec["clusterIPs"] = ["None"]
        elif not ip:
            ip = network.allocate_ip(network.SERVICE_CIDR, _used_ips(reg, reserved=True), skip=10)
            spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        elif old is None or old.get("spec", {}).get("clusterIP") != ip:
            import ipaddress
            try:
                ok = ipaddress.ip_address(ip) in network.SERVICE_CIDR
            except ValueError:
                ok = False
            if not ok:
                raise invalid("Service", "", name, [Cause(
                    "FieldValueInvalid",
                    f'Invalid value: "{ip}": failed to allocate IP {ip}: the provided IP '
                    f"({ip}) is not in the valid range. The range of valid IPs is "
                    f"{network.SERVICE_CIDR}", "spec.clusterIPs")])
            if ip in _used_ips(reg, reserved=False):
                raise invalid("Service", "", name, [Cause(
                    "FieldValueInvalid", f'Invalid value: ["{ip}"]: failed to allocate IP {ip}: '
                    "provided IP is already allocated", "spec.clusterIPs")])
            spec["clusterIPs"] = [ip]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if not _wants_node_ports(spec):
            return
        used = _used_node_ports(reg, obj["metadata"].get("uid"))
        causes = []
        for i, p in enumerate(spec.get("ports") or []):
            np = p.get("nodePort")
            if np:
                if np in used:
                    causes.append(Cause("FieldValueInvalid",
                                        f"Invalid value: {np}: provided port is already allocated",
                                        f"spec.ports[{i}].nodePort"))
                used.add(np)
        for p in spec.get("ports") or []:
            if not p.get("nodePort"):
                p["nodePort"] = network.allocate_node_port(used)
                used.add(p["nodePort"])
        if causes:
            raise invalid("Service", "", name, causes)
