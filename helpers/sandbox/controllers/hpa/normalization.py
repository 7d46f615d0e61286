"""Turning a raw proposal into the replica count to apply: stabilization and rate limits.

Follows horizontal.go: without `spec.behavior` the classic rules (300 s downscale window,
scale-up at most max(2×current, 4)); with it, the up/down stabilization windows and the
policies, limited by the scale events the controller remembers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class Recommendation:
    replicas: int
    at: datetime


@dataclass
class ScaleEvent:
    change: int
    at: datetime
    outdated: bool = False


@dataclass
class Memory:
    """What the controller remembers per HPA between syncs (lost on restart, as upstream)."""

    recommendations: list[Recommendation] = field(default_factory=list)
    scale_up_events: list[ScaleEvent] = field(default_factory=list)
    scale_down_events: list[ScaleEvent] = field(default_factory=list)


@dataclass
class Outcome:
    replicas: int
    able_reason: str
    able_message: str
    limited: bool
    limited_reason: str
    limited_message: str


READY = ("ReadyForNewScale", "recommended size matches current size")
DOWN_STABILIZED = ("ScaleDownStabilized", "recent recommendations were higher than current one, "
                                          "applying the highest recent recommendation")
UP_STABILIZED = ("ScaleUpStabilized", "recent recommendations were lower than current one, "
                                      "applying the lowest recent recommendation")
WITHIN = ("DesiredWithinRange", "the desired count is within the acceptable range")
TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
UP_LIMIT = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
DOWN_LIMIT = ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum "
                                "scale rate")


def _record(mem: Memory, replicas: int, now: datetime, cutoff: datetime) -> None:
    for i, rec in enumerate(mem.recommendations):
        if rec.at < cutoff:
            mem.recommendations[i] = Recommendation(replicas, now)
            return
    mem.recommendations.append(Recommendation(replicas, now))


def without_behavior(mem: Memory, current: int, proposal: int, min_r: int, max_r: int,
                     window: float, now: datetime) -> Outcome:
    cutoff = now - timedelta(seconds=window)
    stabilized = proposal
    for rec in mem.recommendations:
        if rec.at >= cutoff and rec.replicas > stabilized:
            stabilized = rec.replicas
    _record(mem, proposal, now, cutoff)
    able = DOWN_STABILIZED if stabilized != proposal else READY
    scale_up_limit = max(2 * current, 4)
    if max_r > scale_up_limit:
        maximum, limit = scale_up_limit, UP_LIMIT
    else:
        maximum, limit = max_r, TOO_MANY
    if stabilized < min_r:
        desired, why = min_r, TOO_FEW
    elif stabilized > maximum:
        desired, why = maximum, limit
    else:
        desired, why = stabilized, WITHIN
    return Outcome(desired, *able, desired != stabilized, *why)


def _changes(period: float, events: list[ScaleEvent], now: datetime) -> int:
    cutoff = now - timedelta(seconds=period)
    return sum(e.change for e in events if e.at > cutoff and not e.outdated)


def _policy_limit(current: int, mem: Memory, rules: dict, now: datetime, *, up: bool) -> int:
    """The furthest the policies let the replica count move from `current` in one direction.

    Each policy counts from the size at the start of its period (undoing recent scale
    events); selectPolicy Max takes the biggest allowed change, Min the smallest.
    """
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    proposals = []
    for p in rules.get("policies") or []:
        period, value = p["periodSeconds"], p["value"]
        start = (current - _changes(period, mem.scale_up_events, now)
                 + _changes(period, mem.scale_down_events, now))
        if p["type"] == "Pods":
            proposals.append(start + value if up else start - value)
        else:
            proposals.append(math.ceil(start * (1 + value / 100)) if up
                             else int(start * (1 - value / 100)))
    if not proposals:
        return current
    biggest_change = select != "Min"
    return max(proposals) if biggest_change == up else min(proposals)


def with_behavior(mem: Memory, current: int, proposal: int, min_r: int, max_r: int,
                  behavior: dict, default_down_window: float, now: datetime) -> Outcome:
    up = behavior.get("scaleUp") or {}
    down = behavior.get("scaleDown") or {}
    up_window = up.get("stabilizationWindowSeconds") or 0
    down_window = down.get("stabilizationWindowSeconds")
    if down_window is None:
        down_window = default_down_window
    up_cut, down_cut = now - timedelta(seconds=up_window), now - timedelta(seconds=down_window)
    obsolete = now - timedelta(seconds=max(up_window, down_window))
    up_rec = down_rec = proposal
    for rec in mem.recommendations:
        if rec.at > up_cut:
            up_rec = min(rec.replicas, up_rec)
        if rec.at > down_cut:
            down_rec = max(rec.replicas, down_rec)
    stabilized = max(current, up_rec)
    stabilized = min(stabilized, down_rec)
    _record(mem, proposal, now, obsolete)
    if stabilized != proposal:
        able = UP_STABILIZED if proposal >= current else DOWN_STABILIZED
    else:
        able = READY
    desired, why = stabilized, WITHIN
    if stabilized > current:
        limit = max(_policy_limit(current, mem, up, now, up=True), current)
        if max_r > limit:
            maximum, reason = limit, UP_LIMIT
        else:
            maximum, reason = max_r, TOO_MANY
        if stabilized > maximum:
            desired, why = maximum, reason
    elif stabilized < current:
        limit = min(_policy_limit(current, mem, down, now, up=False), current)
        if min_r < limit:
            minimum, reason = limit, DOWN_LIMIT
        else:
            minimum, reason = min_r, TOO_FEW
        if stabilized < minimum:
            desired, why = minimum, reason
    return Outcome(desired, *able, desired != stabilized, *why)


def remember_scale(mem: Memory, behavior: dict | None, previous: int, new: int, now: datetime) -> None:
    """Keep the scale events the rate limits count (only when the HPA has a behavior)."""
    if not behavior:
        return
    if new > previous:
        longest = max((p["periodSeconds"] for p in (behavior.get("scaleUp") or {}).get("policies") or []),
                      default=15)
        mem.scale_up_events = [e for e in mem.scale_up_events
                               if e.at > now - timedelta(seconds=longest)]
        mem.scale_up_events.append(ScaleEvent(new - previous, now))
    elif new < previous:
        longest = max((p["periodSeconds"] for p in (behavior.get("scaleDown") or {}).get("policies") or []),
                      default=15)
        mem.scale_down_events = [e for e in mem.scale_down_events
                                 if e.at > now - timedelta(seconds=longest)]
        mem.scale_down_events.append(ScaleEvent(previous - new, now))
