"""helpers.labkit's pure parts (no cluster): the checks pass when the step happened and fail
with a hint when it did not."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from helpers import labkit
from helpers.traffic import Record, summarize

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def pod(name: str, *, age: float, ready_for: float | None, deleting: bool = False) -> dict:
    created = NOW - timedelta(seconds=age)
    conds = []
    if ready_for is not None:
        since = (NOW - timedelta(seconds=ready_for)).strftime("%Y-%m-%dT%H:%M:%SZ")
        conds.append({"type": "Ready", "status": "True", "lastTransitionTime": since})
    meta = {"name": name, "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if deleting:
        meta["deletionTimestamp"] = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"metadata": meta,
            "spec": {"containers": [{"image": "ghcr.io/stefanprodan/podinfo:6.7.0"}]},
            "status": {"phase": "Running", "conditions": conds,
                       "containerStatuses": [{"ready": ready_for is not None,
                                              "state": {"running": {}}}]}}


def table(*pods: dict) -> labkit.PodTable:
    return labkit.PodTable(pods, now=NOW)


def test_pod_table_sorts_oldest_first_and_measures_readiness() -> None:
    t = table(pod("b", age=3, ready_for=1), pod("a", age=30, ready_for=20))
    assert [r["name"] for r in t] == ["a", "b"]
    assert t[0]["ready_for"] == 20 and t[0]["version"] == "6.7.0"
    assert "READY FOR" in str(t) and "<table" in t._repr_html_()


def test_ready_bucket_is_log2() -> None:
    assert [labkit.ready_bucket(x) for x in (None, 0.5, 1, 2.1, 2.2, 4.2, 4.3, 20)] == \
        [-1, 28, 29, 30, 31, 31, 32, 34]


def test_scale_down_order_passes_when_the_newest_went(capsys) -> None:
    before = table(pod("old1", age=60, ready_for=50), pod("old2", age=60, ready_for=50),
                   pod("new1", age=5, ready_for=2), pod("new2", age=5, ready_for=2))
    labkit.check_scale_down_order(before, ["old1", "old2"], at=NOW)
    assert "new1" in capsys.readouterr().out


def test_scale_down_order_ignores_pods_already_terminating(capsys) -> None:
    before = table(pod("old", age=60, ready_for=50), pod("new", age=5, ready_for=2),
                   pod("gone", age=90, ready_for=80, deleting=True))
    labkit.check_scale_down_order(before, ["old"], at=NOW)
    assert "gone" not in capsys.readouterr().out


def test_scale_down_order_fails_when_an_old_pod_went() -> None:
    before = table(pod("old", age=60, ready_for=50), pod("new", age=5, ready_for=2))
    with pytest.raises(AssertionError, match="was removed although"):
        labkit.check_scale_down_order(before, ["new"], at=NOW)


def test_scale_down_order_allows_pods_whose_buckets_merge_while_deciding(capsys) -> None:
    """4.5 s and 4.1 s are in different buckets at the table, in one bucket 0.5 s later, where
    the controller breaks the tie at random: removing the older one is then no bug."""
    before = table(pod("a", age=60, ready_for=4.5), pod("b", age=60, ready_for=4.1))
    before[0]["ready_for"], before[1]["ready_for"] = 4.5, 4.1  # sub-second precision
    with pytest.raises(AssertionError, match="was removed although"):
        labkit.check_scale_down_order(before, ["b"], at=NOW)  # seen outright: still a bug
    labkit.check_scale_down_order(before, ["b"], at=NOW + timedelta(seconds=0.5))
    assert "a (Ready 4.5s)" in capsys.readouterr().out


def test_scale_down_order_fails_when_nothing_was_removed() -> None:
    before = table(pod("a", age=60, ready_for=50), pod("b", age=5, ready_for=2))
    with pytest.raises(AssertionError, match="How to fix"):
        labkit.check_scale_down_order(before, ["a", "b"], at=NOW)


def test_update_order() -> None:
    labkit.check_update_order(["web-2", "web-1", "web-0"], ["web-2", "web-1", "web-0"])
    with pytest.raises(AssertionError, match="updateStrategy"):
        labkit.check_update_order(["web-0", "web-1", "web-2"], ["web-2", "web-1", "web-0"])


def rs(image: str, desired: int, ready: int) -> SimpleNamespace:
    return SimpleNamespace(image=image, desired=desired, ready=ready)


def test_rollout_steps_merge_repeats_and_label_by_tag() -> None:
    old, new = "ghcr.io/stefanprodan/podinfo:6.7.0", "ghcr.io/stefanprodan/podinfo:6.7.1"
    samples = [(0, [rs(old, 2, 2)]), (0.5, [rs(old, 2, 2)]),
               (1, [rs(old, 2, 2), rs(new, 1, 0)]), (2, [rs(old, 1, 1), rs(new, 2, 1)]),
               (3, [rs(old, 0, 0), rs(new, 2, 2)])]
    steps = labkit.rollout_steps(samples)
    assert steps == [{"6.7.0": (2, 2)}, {"6.7.0": (2, 2), "6.7.1": (1, 0)},
                     {"6.7.0": (1, 1), "6.7.1": (2, 1)}, {"6.7.0": (0, 0), "6.7.1": (2, 2)}]
    text = str(labkit.steps_table(samples, ["6.7.0", "6.7.1"]))
    assert text.splitlines()[2].split() == ["2", "2/2", "1/0", "3", "2"]


def test_results_table_and_figure() -> None:
    ok = summarize([Record(i / 50, 0.01, 200, None, "6.7.1", "p") for i in range(100)])
    bad = summarize([Record(i / 50, 0.01, None if i % 10 == 0 else 200,
                            "ConnectionRefusedError" if i % 10 == 0 else None, "6.7.1", "p")
                     for i in range(100)])
    results = {"safe": labkit.Measurement("safe", ok, 8.0),
               "naive": labkit.Measurement("naive", bad, 2.0)}
    html = labkit.results_table(results)
    assert "safe" in html and ">10<" in html
    fig = labkit.results_figure(results)
    assert list(fig.data[0].y) == [0, 10]
    assert "10 of 100 requests failed" in str(results["naive"])


def test_stop_waits_for_the_given_things_only() -> None:
    class Fake:
        def __init__(self) -> None:
            self.done = threading.Event()
            self.thread = threading.Thread(target=self.done.wait, name="rollout-labs-fake",
                                           daemon=True)
            self.thread.start()

        @property
        def threads_alive(self) -> int:
            return int(self.thread.is_alive())

        def stop(self) -> None:
            self.done.set()

    a, b = Fake(), Fake()
    labkit.stop(a, timeout=5)  # b keeps running, and that is fine without final=True
    assert not a.thread.is_alive() and b.thread.is_alive()
    with pytest.raises(AssertionError, match="rollout-labs-fake"):
        labkit.stop(timeout=0.3, final=True)
    labkit.stop(b, final=True, timeout=5)
    assert labkit.ours_running() == []


def test_manifest_paths_are_relative_and_checked(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(labkit.REPO / "labs")
    assert labkit.manifest("podinfo", "deployment.yaml") == "../manifests/podinfo/deployment.yaml"
    with pytest.raises(FileNotFoundError):
        labkit.manifest("nope.yaml")


def test_wait_until_times_out_with_the_reason() -> None:
    with pytest.raises(TimeoutError, match="the moon"):
        labkit.wait_until(lambda: False, timeout=0.2, interval=0.05, what="the moon")
    assert labkit.wait_until(lambda: 42, timeout=1) == 42


def test_scale_down_order_respects_node_spreading(capsys) -> None:
    """On two nodes, an old pod on the crowded node may go before a new pod elsewhere."""
    def on(node: str, p: dict) -> dict:
        p["spec"]["nodeName"] = node
        return p

    before = table(on("a", pod("old1", age=60, ready_for=50)),
                   on("a", pod("old2", age=60, ready_for=50)),
                   on("a", pod("new1", age=5, ready_for=2)),
                   on("b", pod("new2", age=5, ready_for=2)))
    labkit.check_scale_down_order(before, ["old1", "new2"], at=NOW)  # old2 and new1 left node a
    assert "old2" in capsys.readouterr().out
