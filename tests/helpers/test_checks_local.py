"""Checks that judge measurements (no cluster needed): pass when right, explain when not."""

from __future__ import annotations

import pytest

from helpers import checks
from helpers.rollout import RSSize
from helpers.traffic import Record, summarize


def summary(n_ok, n_fail=0, version="6.7.0"):
    recs = [Record(i * 0.01, 0.001, 200, None, version, "p") for i in range(n_ok)]
    recs += [Record(n_ok * 0.01 + i * 0.01, 0.001, 503, "HTTP 503", None, None)
             for i in range(n_fail)]
    return summarize(recs)


def test_zero_downtime(capsys):
    checks.check_zero_downtime(summary(1200))
    assert capsys.readouterr().out.startswith("✓ zero downtime: 1200 requests, 0 failed")
    with pytest.raises(AssertionError, match="(?s)1 of 1201 requests failed.*How to fix"):
        checks.check_zero_downtime(summary(1200, 1))
    with pytest.raises(AssertionError, match="Only 500 requests"):
        checks.check_zero_downtime(summary(500))


def test_traffic_version():
    checks.check_traffic_version(summary(10, version="green"), "green")
    with pytest.raises(AssertionError, match="Only 0% of answers came from green"):
        checks.check_traffic_version(summary(10, version="blue"), "green")


def test_strategy_results():
    results = {"readiness+preStop": summary(100), "no probe": summary(90, 10),
               "recreate": summary(50, 50)}
    checks.check_strategy_results(results, safe="readiness+preStop",
                                  naive=["no probe", "recreate"])
    with pytest.raises(AssertionError, match="showed no failures"):
        checks.check_strategy_results({**results, "recreate": summary(100)},
                                      safe="readiness+preStop", naive=["no probe", "recreate"])
    with pytest.raises(AssertionError, match="readiness\\+preStop lost 3"):
        checks.check_strategy_results({**results, "readiness+preStop": summary(97, 3)},
                                      safe="readiness+preStop", naive=["no probe"])


def sizes(*pairs):
    return [RSSize(f"rs{i}", i, "x", 0, cur, avail, avail) for i, (cur, avail) in enumerate(pairs)]


def test_surge_respected():
    good = [(0, sizes((4, 4), (0, 0))), (1, sizes((4, 4), (1, 0))), (2, sizes((3, 3), (1, 1))),
            (3, sizes((0, 0), (4, 4)))]
    checks.check_surge_respected(good, 4, max_surge=1, max_unavailable=0)
    bad = good + [(4, sizes((4, 4), (2, 0)))]
    with pytest.raises(AssertionError, match="6 pods existed at once"):
        checks.check_surge_respected(bad, 4, max_surge=1, max_unavailable=0)
    with pytest.raises(AssertionError, match="No ReplicaSet sizes"):
        checks.check_surge_respected([], 4, 1, 0)
