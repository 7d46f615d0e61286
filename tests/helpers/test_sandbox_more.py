"""StatefulSets, the HPA, and the live widgets against a real sandbox."""

from __future__ import annotations

import threading
import time

import pytest

from helpers import checks, rollout
from helpers.widgets import HPAChart, LoadControl, PodBoard, RolloutTimeline
from tests.helpers.manifests import PODINFO, hpa_example, podinfo, statefulset

pytestmark = pytest.mark.slow


def test_statefulset_partition_status_and_undo(lab_cluster, ns, capsys):
    rollout.apply(statefulset(), ns)
    st = rollout.wait_for_rollout("db", ns, kind="statefulset", timeout=120)
    assert st.done and st.message.startswith("partitioned roll out complete: 3 new pods")
    v1, v2 = f"{PODINFO}:6.7.0", f"{PODINFO}:6.7.1"
    with pytest.raises(AssertionError, match="expected .*6.7.1"):
        checks.check_statefulset_updated(ns, "db", v2, wait=0)

    # canary: only ordinal 2 takes the new image
    assert rollout.set_partition("db", ns, 2).message == "statefulset.apps/db patched"
    rollout.set_image("db", ns, "podinfo", v2, kind="statefulset")
    st = rollout.wait_for_rollout("db", ns, kind="statefulset", timeout=120)
    assert st.message == "partitioned roll out complete: 1 new pods have been updated..."
    assert len(st.messages) >= 2  # it waited for the canary pod before completing
    checks.check_statefulset_updated(ns, "db", v2, partition=2)
    with pytest.raises(AssertionError):
        checks.check_statefulset_updated(ns, "db", v2, partition=0, wait=0)

    # the rest, in reverse ordinal order
    rollout.set_partition("db", ns, 0)
    rollout.wait_for_rollout("db", ns, kind="statefulset", timeout=180, quiet=True)
    checks.check_statefulset_updated(ns, "db", v2)
    hist = rollout.history("db", ns, kind="statefulset")
    assert [r.revision for r in hist] == [1, 2]
    assert hist.table.startswith("statefulset.apps/db \nREVISION\n")

    step = rollout.undo("db", ns, kind="statefulset")
    assert step.message == "statefulset.apps/db rolled back"
    rollout.wait_for_rollout("db", ns, kind="statefulset", timeout=180, quiet=True)
    checks.check_statefulset_updated(ns, "db", v1)
    assert [r.revision for r in rollout.history("db", ns, kind="statefulset")] == [2, 3]


def test_hpa_scales_up_under_load_and_back_down(lab_cluster, ns):
    rollout.apply(hpa_example(), ns)
    rollout.wait_for_rollout("php-apache", ns, timeout=90, quiet=True)
    checks.check_metrics_api()
    with pytest.raises(AssertionError, match="no HPA"):
        checks.check_hpa(ns, "php-apache", min_replicas=1, max_replicas=4, cpu_percent=50)
    step = rollout.autoscale("php-apache", ns, min_replicas=1, max_replicas=4, cpu_percent=50)
    assert step.message == "horizontalpodautoscaler.autoscaling/php-apache autoscaled"
    assert step.command == f"kubectl autoscale deployment/php-apache --min=1 --max=4 --cpu=50% -n {ns}"
    with pytest.raises(rollout.RolloutError, match="already exists"):
        rollout.autoscale("php-apache", ns, min_replicas=1, max_replicas=4, cpu_percent=50)
    checks.check_hpa(ns, "php-apache", min_replicas=1, max_replicas=4, cpu_percent=50)
    checks.check_hpa_metrics(ns, "php-apache", wait=90)
    with pytest.raises(AssertionError, match="still runs 1 replicas"):
        checks.check_hpa_scaled_up(ns, "php-apache", above=1)

    load = LoadControl("php-apache", ns, rate=20)
    chart = HPAChart("php-apache", ns, interval=1)
    try:
        load.start()
        checks.check_hpa_scaled_up(ns, "php-apache", above=1, wait=120)
        with pytest.raises(AssertionError, match="still runs"):
            checks.check_hpa_scaled_down(ns, "php-apache", to=1)
    finally:
        load.close()
    checks.check_hpa_scaled_down(ns, "php-apache", to=1, wait=180)
    chart.close()
    cpu = [s.cpu_percent for _, s in chart.samples if s.cpu_percent is not None]
    assert cpu and max(cpu) > 50
    assert max(s.current_replicas for _, s in chart.samples) > 1
    assert str(rollout.delete_hpa("php-apache", ns)).endswith("deleted from " + ns + " namespace")


def test_pod_board_and_timeline_follow_a_rollout(lab_cluster, ns):
    rollout.apply(podinfo(replicas=3, max_surge=1, max_unavailable=0), ns)
    rollout.wait_for_rollout("web", ns, timeout=90, quiet=True)
    before = {t.name for t in threading.enumerate()}
    board = PodBoard(ns, "app=web")
    timeline = RolloutTimeline("web", ns, interval=0.3)
    try:
        deadline = time.monotonic() + 10
        while "3 ready" not in board.widget.value and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(board.pods) == 3 and "3 ready" in board.widget.value
        rollout.set_image("web", ns, "podinfo", f"{PODINFO}:6.7.1")
        rollout.wait_for_rollout("web", ns, timeout=90, quiet=True)
        time.sleep(2)
        live = [p for p in board.pods if not p.deleting]
        assert {p.version for p in live} == {"6.7.1"}
        assert "6.7.1" in board.widget.value
    finally:
        board.close()
        timeline.close()
    assert board.threads_alive == 0 and timeline.threads_alive == 0
    time.sleep(0.2)
    leaked = {t.name for t in threading.enumerate()} - before
    assert not [n for n in leaked if n.startswith("rollout-labs")], leaked
    assert len(timeline.steps()) >= 3  # old RS shrinks while the new one grows
    checks.check_surge_respected(timeline.samples, 3, max_surge=1, max_unavailable=0)
    with pytest.raises(AssertionError, match="pods existed at once"):
        checks.check_surge_respected(timeline.samples, 3, max_surge=0, max_unavailable=0)
