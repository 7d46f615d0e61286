"""Deployment helpers, after `pkg/controller/deployment/util/deployment_util.go`.

Pure functions over API-shaped dicts: the pod-template hash, maxSurge/maxUnavailable
resolution, revision bookkeeping, replica-set selection and sorting, condition handling and
the proportional-scaling arithmetic. The controller mixins call these; nothing here writes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta

from ...apiserver.defaults import pod_template_defaults
from ...objects import annotations_of, clone
from ...util import now, parse_time, rfc3339
from .. import hashing

# Annotation and label keys (apps/v1 and deployment_util.go).
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HASH_LABEL = "pod-template-hash"
# Never copied from a Deployment to its ReplicaSets (annotationsToSkip).
ANNOTATIONS_TO_SKIP = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
                                 MAX_REPLICAS, ROLLBACK_TO})
# The revision-history annotation is capped at this many characters (controller flag default).
MAX_REV_HISTORY_CHARS = 2000
MAX_INT32 = 2**31 - 1

# Condition reasons (deployment_util.go).
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_CREATED = "NewReplicaSetCreated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"



# -- accessors ---------------------------------------------------------------------------------
def replicas(obj: dict | None) -> int:
    """spec.replicas (the API defaults it, so a missing value only shows up in hand-made dicts)."""
    if obj is None:
        return 0
    value = obj.get("spec", {}).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: dict | None, field: str) -> int:
    if obj is None:
        return 0
    return int((obj.get("status") or {}).get(field) or 0)


def is_rolling_update(d: dict) -> bool:
    return ((d["spec"].get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def has_progress_deadline(d: dict) -> bool:
    pds = d["spec"].get("progressDeadlineSeconds")
    return pds is not None and pds != MAX_INT32


def has_revision_history_limit(d: dict) -> bool:
    limit = d["spec"].get("revisionHistoryLimit")
    return limit is not None and limit != MAX_INT32


# -- pod-template hash -------------------------------------------------------------------------
def _strip_nulls(value):
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def normalise_template(template: dict) -> dict:
    """The template as the API would store it, minus noise that must not change the hash:
    `creationTimestamp: null` (kubectl sends it), nulls, empty labels/annotations, the
    hash label, and any missing defaults."""
    t = _strip_nulls(clone(template or {}))
    md = t.get("metadata") or {}
    md.pop("creationTimestamp", None)
    labels = dict(md.get("labels") or {})
    labels.pop(HASH_LABEL, None)
    for key, value in (("labels", labels), ("annotations", md.get("annotations") or {})):
        if value:
            md[key] = value
        else:
            md.pop(key, None)
    if md:
        t["metadata"] = md
    else:
        t.pop("metadata", None)
    spec = t.get("spec")
    if isinstance(spec, dict):
        pod_template_defaults(spec)
    return t


def compute_hash(template: dict, collision_count: int | None) -> str:
    """controller.ComputeHash over the normalised template (see hashing.compute_hash)."""
    return hashing.compute_hash(normalise_template(template), collision_count)


def equal_ignore_hash(t1: dict, t2: dict) -> bool:
    """EqualIgnoreHash: templates equal once the pod-template-hash label is dropped."""
    return normalise_template(t1) == normalise_template(t2)


# -- maxSurge / maxUnavailable -----------------------------------------------------------------
def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"invalid value for IntOrString: invalid value {text!r}") from None
    pct = int(text[:-1])
    scaled = pct * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def resolve_fenceposts(max_surge, max_unavailable, desired: int) -> tuple[int, int]:
    """Surge rounds up, unavailable rounds down; both zero means unavailable 1."""
    surge = scaled_value(0 if max_surge is None else max_surge, desired, True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling(d: dict) -> dict:
    return (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}


def max_unavailable(d: dict) -> int:
    if not is_rolling_update(d) or replicas(d) == 0:
        return 0
    ru = _rolling(d)
    _, unavailable = resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas(d))
    return min(unavailable, replicas(d))


def max_surge(d: dict) -> int:
    if not is_rolling_update(d):
        return 0
    ru = _rolling(d)
    surge, _ = resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas(d))
    return surge


# -- revisions and annotations -----------------------------------------------------------------
def revision(obj: dict) -> int:
    """The revision annotation; unparsable or missing counts as 0."""
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: Iterable[dict]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def copy_annotations_to_rs(d: dict, rs: dict) -> bool:
    """Copy-only (never removes) every Deployment annotation outside the skip list."""
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for k, v in annotations_of(d).items():
        if k in ANNOTATIONS_TO_SKIP or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    return changed


def set_replicas_annotations(rs: dict, desired: int, max_replicas: int) -> bool:
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(max_replicas))):
        if ann.get(key) != value:
            ann[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: dict, desired: int, max_replicas: int) -> bool:
    ann = annotations_of(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(max_replicas)


def set_new_rs_annotations(d: dict, rs: dict, new_revision: int, exists: bool) -> bool:
    """SetNewReplicaSetAnnotations: copy annotations, raise the revision (recording the old
    one in revision-history when an existing revision is raised, i.e. a rollback), and give
    a brand-new RS its desired/max-replicas annotations."""
    changed = copy_annotations_to_rs(d, rs)
    ann = rs["metadata"].setdefault("annotations", {})
    old = ann.get(REVISION)
    try:
        old_int = int(old) if old is not None else 0
    except ValueError:
        return False
    if old_int < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old is not None:
            history = ann.get(REVISION_HISTORY, "")
            if not history:
                ann[REVISION_HISTORY] = old
            else:
                entries = history.split(",")
                total = len(history) + len(old) + 1
                start = 0
                while total > MAX_REV_HISTORY_CHARS and start < len(entries):
                    total -= len(entries[start]) + 1
                    start += 1
                if total <= MAX_REV_HISTORY_CHARS:
                    ann[REVISION_HISTORY] = ",".join([*entries[start:], old])
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


def set_deployment_revision(d: dict, rev: str | None) -> bool:
    ann = d["metadata"].setdefault("annotations", {})
    if rev is None or ann.get(REVISION) == rev:
        return False
    ann[REVISION] = rev
    return True


def desired_replicas_annotation(rs: dict) -> int | None:
    try:
        return int(annotations_of(rs)[DESIRED_REPLICAS])
    except (KeyError, ValueError):
        return None


def max_replicas_annotation(rs: dict) -> int | None:
    try:
        return int(annotations_of(rs)[MAX_REPLICAS])
    except (KeyError, ValueError):
        return None


# -- replica-set selection and ordering --------------------------------------------------------
def _created_key(rs: dict) -> tuple[str, str]:
    md = rs["metadata"]
    return (md.get("creationTimestamp") or "", md["name"])


def by_creation(rss: Iterable[dict]) -> list[dict]:
    """ReplicaSetsByCreationTimestamp: oldest first, name breaks ties."""
    return sorted(rss, key=_created_key)


def by_revision(rss: Iterable[dict]) -> list[dict]:
    return sorted(rss, key=lambda rs: (revision(rs), _created_key(rs)))


def by_size_newer(rss: Iterable[dict]) -> list[dict]:
    """Largest first; ties newest first (scaling up favours new replica sets)."""
    ordered = sorted(rss, key=_created_key, reverse=True)
    return sorted(ordered, key=replicas, reverse=True)


def by_size_older(rss: Iterable[dict]) -> list[dict]:
    """Largest first; ties oldest first (scaling down takes from old replica sets)."""
    return sorted(by_creation(rss), key=replicas, reverse=True)


def active(rss: Iterable[dict | None]) -> list[dict]:
    """FilterActiveReplicaSets: non-nil with spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def find_new_rs(d: dict, rss: list[dict]) -> dict | None:
    """The oldest replica set whose template matches the Deployment's."""
    for rs in by_creation(rss):
        if equal_ignore_hash(rs["spec"].get("template") or {}, d["spec"].get("template") or {}):
            return rs
    return None


def find_old_rss(d: dict, rss: list[dict]) -> list[dict]:
    new = find_new_rs(d, rss)
    new_uid = new["metadata"]["uid"] if new else None
    return [rs for rs in rss if rs["metadata"]["uid"] != new_uid]


def find_active_or_latest(new_rs: dict | None, old_rss: list[dict]) -> dict | None:
    if new_rs is None and not old_rss:
        return None
    olds = sorted(old_rss, key=_created_key, reverse=True)
    live = active([*olds, new_rs])
    if not live:
        return new_rs if new_rs is not None else olds[0]
    return live[0] if len(live) == 1 else None


def is_saturated(d: dict, rs: dict | None) -> bool:
    if rs is None:
        return False
    desired = desired_replicas_annotation(rs)
    if desired is None:
        return False
    want = replicas(d)
    return replicas(rs) == want and desired == want and status_int(rs, "availableReplicas") == want


def total_replicas(rss: Iterable[dict | None]) -> int:
    """GetReplicaCountForReplicaSets: Σ spec.replicas."""
    return sum(replicas(rs) for rs in rss if rs is not None)


def total_status(rss: Iterable[dict | None], field: str) -> int:
    return sum(status_int(rs, field) for rs in rss if rs is not None)


def new_rs_new_replicas(d: dict, all_rss: list[dict | None], new_rs: dict) -> int:
    """How big the new replica set may be now: bounded by maxSurge, never above replicas."""
    if not is_rolling_update(d):
        return replicas(d)
    surge = scaled_value(_rolling(d).get("maxSurge"), replicas(d), True)
    current = total_replicas(all_rss)
    max_total = replicas(d) + surge
    if current >= max_total:
        return replicas(new_rs)
    return replicas(new_rs) + min(max_total - current, replicas(d) - replicas(new_rs))


def _round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def replica_set_fraction(rs: dict, d: dict) -> int:
    """How much `rs` should change so it keeps its share of the Deployment's new size."""
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_max = replicas(d) + max_surge(d)
    before = max_replicas_annotation(rs)
    if not before:
        before = status_int(d, "replicas")
        if before == 0:
            return 0
    return _round_half_away(replicas(rs) * deployment_max / before) - replicas(rs)


def replica_set_proportion(rs: dict, d: dict, to_add: int, added: int) -> int:
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# -- conditions and progress -------------------------------------------------------------------
def new_condition(ctype: str, status: str, reason: str, message: str) -> dict:
    stamp = rfc3339()
    return {"type": ctype, "status": status, "lastUpdateTime": stamp,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def get_condition(status: dict, ctype: str) -> dict | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def set_condition(status: dict, cond: dict) -> None:
    """Same status and reason: no change. Same status, new reason: keep lastTransitionTime.
    The replaced condition moves to the end of the list."""
    current = get_condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] \
            and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime")
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: dict, ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def rs_to_deployment_condition(c: dict) -> dict:
    return {"type": c.get("type"), "status": c.get("status"),
            "lastUpdateTime": c.get("lastTransitionTime"),
            "lastTransitionTime": c.get("lastTransitionTime"),
            "reason": c.get("reason"), "message": c.get("message")}


def deployment_complete(d: dict, status: dict) -> bool:
    want = replicas(d)
    return (int(status.get("updatedReplicas") or 0) == want
            and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0) >= int(d["metadata"].get("generation") or 0))


def deployment_progressing(d: dict, status: dict) -> bool:
    old = d.get("status") or {}

    def get(s: dict, f: str) -> int:
        return int(s.get(f) or 0)

    old_old = get(old, "replicas") - get(old, "updatedReplicas")
    new_old = get(status, "replicas") - get(status, "updatedReplicas")
    return (get(status, "updatedReplicas") > get(old, "updatedReplicas")
            or new_old < old_old
            or get(status, "readyReplicas") > get(old, "readyReplicas")
            or get(status, "availableReplicas") > get(old, "availableReplicas"))


def deployment_timed_out(d: dict, status: dict) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    last = parse_time(cond.get("lastUpdateTime"))
    if last is None:
        return False
    return last + timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"])) < now()
