"""Small manifests for the helpers' sandbox tests (the labs' own live in manifests/)."""

from __future__ import annotations

PODINFO = "ghcr.io/stefanprodan/podinfo"


def podinfo(name: str = "web", *, tag: str = "6.7.0", replicas: int = 3, readiness: bool = True,
            pre_stop: bool = True, labels: dict | None = None, node_port: bool = True,
            max_surge: int | str = 1, max_unavailable: int | str = 0,
            history_limit: int | None = None, progress_deadline: int | None = None,
            cpu: str = "50m") -> str:
    labels = labels or {"app": name}
    sel = "\n".join(f"      {k}: {v}" for k, v in labels.items())
    tpl = "\n".join(f"        {k}: {v}" for k, v in labels.items())
    probe = """
        readinessProbe:
          httpGet: {path: /readyz, port: 9898}
          periodSeconds: 1
          failureThreshold: 1""" if readiness else ""
    stop = """
        lifecycle:
          preStop:
            sleep: {seconds: 2}""" if pre_stop else ""
    extra = ""
    if history_limit is not None:
        extra += f"\n  revisionHistoryLimit: {history_limit}"
    if progress_deadline is not None:
        extra += f"\n  progressDeadlineSeconds: {progress_deadline}"
    svc = f"""
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  type: {"NodePort" if node_port else "ClusterIP"}
  selector:
{sel.replace("      ", "    ")}
  ports:
  - port: 80
    targetPort: 9898
"""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}{extra}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: {max_surge}, maxUnavailable: {max_unavailable}}}
  selector:
    matchLabels:
{sel}
  template:
    metadata:
      labels:
{tpl}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: podinfo
        image: {PODINFO}:{tag}
        ports:
        - containerPort: 9898
        resources:
          requests: {{cpu: {cpu}}}{probe}{stop}
{svc}"""


def statefulset(name: str = "db", *, tag: str = "6.7.0", replicas: int = 3) -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  clusterIP: None
  selector: {{app: {name}}}
  ports:
  - port: 9898
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
spec:
  serviceName: {name}
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: podinfo
        image: {PODINFO}:{tag}
        readinessProbe:
          httpGet: {{path: /readyz, port: 9898}}
          periodSeconds: 1
"""


def hpa_example(name: str = "php-apache") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: {name}
        image: registry.k8s.io/hpa-example
        ports:
        - containerPort: 80
        resources:
          requests: {{cpu: 200m}}
          limits: {{cpu: 500m}}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector: {{app: {name}}}
  ports:
  - port: 80
"""
