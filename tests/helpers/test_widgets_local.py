"""Widgets without a cluster: construction, actions they trigger, and no leaked threads."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from helpers.pods import view
from helpers.traffic import NodePortRoute, Probe
from helpers.widgets import BlueGreenSwitch, ImagePicker, ReplicaSlider, TrafficChart, close_all
from helpers.widgets.podboard import render
from tests.helpers.fakes import FakeCluster, deployment, lab_ns

D = "/apis/apps/v1/namespaces/lab/deployments/web"


def rolled_out():
    d = deployment()
    d["status"] = {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
                   "availableReplicas": 3}
    return d


def rl_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("rollout-labs")]


def pod(name, image, ready=True, deleting=False, waiting=None):
    created = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cs = {"name": "c", "ready": ready, "restartCount": 0,
          "state": {"waiting": {"reason": waiting}} if waiting else {"running": {}}}
    meta = {"name": name, "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = created
    return {"metadata": meta, "spec": {"containers": [{"name": "c", "image": image}]},
            "status": {"phase": "Running" if not waiting else "Pending",
                       "conditions": [{"type": "Ready", "status": str(ready)}],
                       "containerStatuses": [cs]}}


def test_pod_board_tiles_show_version_and_state():
    pods = [view(pod("web-1", "podinfo:6.7.0")), view(pod("web-2", "podinfo:6.7.1", ready=False,
                                                          waiting="ImagePullBackOff")),
            view(pod("web-3", "podinfo:6.7.0", deleting=True))]
    html = render(pods, "lab")
    assert "3 pods, 1 ready" in html
    assert "ImagePullBackOff" in html and "Terminating" in html and "6.7.1" in html
    assert "line-through" in html and "dashed" in html


def test_replica_slider_scales_through_the_helper():
    c = FakeCluster()
    lab_ns(c)
    c.add(D, rolled_out())
    s = ReplicaSlider("web", "lab", follow=False, cluster=c)
    assert s.slider.value == 3
    s.set(5)
    s.wait()
    assert c.writes[-1][:3] == ("PATCH", D + "/scale", {"spec": {"replicas": 5}})
    assert "deployment.apps/web scaled" in s.out.value
    s.close()


def test_image_picker_rolls_out_and_reports_rollout_status():
    c = FakeCluster()
    lab_ns(c)
    c.add(D, rolled_out())
    p = ImagePicker("web", "lab", "podinfo", ["podinfo:6.7.0", "podinfo:6.7.1"], cluster=c)
    p.roll_out("podinfo:6.7.1")
    p.wait()
    assert p.last_error is None
    assert c.writes[0][2]["spec"]["template"]["spec"]["containers"][0]["image"] == "podinfo:6.7.1"
    assert "successfully rolled out" in p.out.value
    p.close()


def test_blue_green_switch_patches_the_selector():
    c = FakeCluster()
    lab_ns(c)
    c.add("/api/v1/namespaces/lab/services/web", {"metadata": {"resourceVersion": "1"},
                                                   "spec": {"selector": {"app": "web", "color": "blue"}}})
    sw = BlueGreenSwitch("web", "lab", {"blue": {"app": "web", "color": "blue"},
                                        "green": {"app": "web", "color": "green"}}, cluster=c)
    assert sw.toggle.value == "blue"
    sw.switch("green").join(5)
    assert c.writes[-1][2] == {"spec": {"selector": {"app": "web", "color": "green"}}}
    sw.close()


def test_traffic_chart_draws_versions_and_failures_and_closes_cleanly(podinfo_server):
    probe = Probe("web", "lab", rate=50, route=NodePortRoute("127.0.0.1", podinfo_server.port,
                                                             "/")).start()
    chart = TrafficChart(probe, interval=0.2)
    time.sleep(1.3)
    names = {t.name for t in chart.widget.data}
    assert {"6.7.0", "6.7.1", "failed"} <= names
    assert sum(sum(t.y) for t in chart.widget.data if t.name != "failed") > 20
    chart.close()
    probe.stop()
    assert chart.threads_alive == 0
    time.sleep(0.1)
    assert rl_threads() == []


def test_close_all_stops_every_live_widget():
    c = FakeCluster()
    lab_ns(c)
    c.add(D, rolled_out())
    s = ReplicaSlider("web", "lab", follow=True, cluster=c)
    assert s.threads_alive == 1
    assert close_all() >= 1
    assert s.threads_alive == 0 and s.closed
