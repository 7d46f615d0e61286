"""A container's environment as the kubelet builds it from the manifest.

Service links first (`<SVC>_SERVICE_HOST` …, the `kubernetes` service always), then `envFrom`,
then `env` in order with `$(VAR)` expansion against what came before; `valueFrom` reads the
pod's fields, resources, ConfigMaps and Secrets. A missing ConfigMap/Secret/key that is not
optional is the kubelet's CreateContainerConfigError, with the kubelet's message.
"""

from __future__ import annotations

import base64
import math
import re

from ..client import Client
from ..quantity import parse_quantity

_VALID_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class ConfigError(Exception):
    """CreateContainerConfigError: the container cannot be created with this configuration."""


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: `$$` escapes, unknown references stay as written."""
    out = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "$" and i + 1 < n:
            nxt = value[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = value.find(")", i + 2)
                if end >= 0:
                    name = value[i + 2:end]
                    out.append(env[name] if name in env else value[i:end + 1])
                    i = end + 1
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


def service_env(client: Client, namespace: str, enable_links: bool) -> dict[str, str]:
    """Docker-link style variables for the namespace's services (and `kubernetes`)."""
    services = []
    if enable_links:
        services = [s for s in client.scan("services", namespace)]
    if namespace != "default" or not enable_links:
        k8s = client.peek("services", "default", "kubernetes")
        if k8s is not None:
            services.append(k8s)
    out: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        name = svc["metadata"]["name"].upper().replace("-", "_")
        first = ports[0]
        out[f"{name}_SERVICE_HOST"] = ip
        out[f"{name}_SERVICE_PORT"] = str(first["port"])
        for p in ports:
            if p.get("name"):
                out[f"{name}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(p["port"])
        proto = (first.get("protocol") or "TCP").lower()
        out[f"{name}_PORT"] = f"{proto}://{ip}:{first['port']}"
        for p in ports:
            proto = (p.get("protocol") or "TCP")
            base = f"{name}_PORT_{p['port']}_{proto.upper()}"
            out[base] = f"{proto.lower()}://{ip}:{p['port']}"
            out[f"{base}_PROTO"] = proto.lower()
            out[f"{base}_PORT"] = str(p["port"])
            out[f"{base}_ADDR"] = ip
    return out


def _field(pod: dict, path: str) -> str:
    md, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']*)'\]", path)
    if m:
        return (md.get(m.group(1)) or {}).get(m.group(2), "")
    simple = {
        "metadata.name": md.get("name", ""),
        "metadata.namespace": md.get("namespace", ""),
        "metadata.uid": md.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": status.get("hostIP", ""),
        "status.podIP": status.get("podIP", ""),
        "status.hostIPs": ",".join(i["ip"] for i in status.get("hostIPs") or []),
        "status.podIPs": ",".join(i["ip"] for i in status.get("podIPs") or []),
    }
    if path in ("metadata.labels", "metadata.annotations"):
        items = md.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    if path not in simple:
        raise ConfigError(f'unsupported fieldRef path "{path}"')
    return simple[path]


def _resource(container: dict, ref: dict, node_alloc: dict[str, str]) -> str:
    resource = ref.get("resource", "")
    kind, _, name = resource.partition(".")
    res = container.get("resources") or {}
    value = (res.get(kind) or {}).get(name)
    if value is None and kind == "requests":
        value = (res.get("limits") or {}).get(name)
    if value is None:
        value = node_alloc.get(name, "0") if kind == "limits" else "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    if divisor == 0:
        divisor = parse_quantity("1")
    return str(math.ceil(parse_quantity(value) / divisor))


def _decode(secret: dict, key: str) -> str | None:
    if key in (secret.get("stringData") or {}):
        return secret["stringData"][key]
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(raw).decode("utf-8", errors="replace")
    except ValueError:
        return raw


def _key_ref(client: Client, ns: str, ref: dict, secret: bool) -> str | None:
    kind, key = ("secrets", "Secret") if secret else ("configmaps", "ConfigMap")
    obj = client.peek(kind, ns, ref.get("name", ""))
    optional = bool(ref.get("optional"))
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{key.lower()} "{ref.get("name", "")}" not found')
    value = _decode(obj, ref.get("key", "")) if secret else (
        (obj.get("data") or {}).get(ref.get("key", "")))
    if value is None:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {ref.get('key', '')} in {key} {ns}/{ref.get('name', '')}")
    return value


def container_env(client: Client, pod: dict, container: dict,
                  node_alloc: dict[str, str]) -> dict[str, str]:
    """The manifest part of a container's environment (service links, envFrom, env)."""
    ns = pod["metadata"]["namespace"]
    env = service_env(client, ns, pod["spec"].get("enableServiceLinks", True) is not False)
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix") or ""
        if "configMapRef" in src:
            ref, kind, secret = src["configMapRef"] or {}, "configmaps", False
        elif "secretRef" in src:
            ref, kind, secret = src["secretRef"] or {}, "secrets", True
        else:
            continue
        obj = client.peek(kind, ns, ref.get("name", ""))
        if obj is None:
            if ref.get("optional"):
                continue
            raise ConfigError(f'{"secret" if secret else "configmap"} "{ref.get("name", "")}" not found')
        keys = list((obj.get("data") or {}).keys())
        for k in keys:
            name = prefix + k
            if not _VALID_ENV_NAME.match(name):
                continue
            env[name] = _decode(obj, k) if secret else obj["data"][k]
    for item in container.get("env") or []:
        name = item.get("name")
        if not name:
            continue
        if "value" in item or "valueFrom" not in item:
            env[name] = expand(str(item.get("value") or ""), env)
            continue
        vf = item.get("valueFrom") or {}
        value: str | None
        if "fieldRef" in vf:
            value = _field(pod, (vf["fieldRef"] or {}).get("fieldPath", ""))
        elif "resourceFieldRef" in vf:
            ref = vf["resourceFieldRef"] or {}
            target = container
            if ref.get("containerName"):
                target = next((c for c in pod["spec"].get("containers") or []
                               if c.get("name") == ref["containerName"]), container)
            value = _resource(target, ref, node_alloc)
        elif "configMapKeyRef" in vf:
            value = _key_ref(client, ns, vf["configMapKeyRef"] or {}, secret=False)
        elif "secretKeyRef" in vf:
            value = _key_ref(client, ns, vf["secretKeyRef"] or {}, secret=True)
        else:
            value = ""
        if value is not None:
            env[name] = value
    return env


def container_argv(container: dict, env: dict[str, str]) -> list[str]:
    """The manifest's command + args with `$(VAR)` expanded: data for the app, never run."""
    return [expand(str(a), env) for a in (container.get("command") or []) +
            (container.get("args") or [])]
