"""The probe against a local podinfo-like server: rate, records, failures, gaps."""

from __future__ import annotations

import threading
import time

import pytest

from helpers.traffic import NodePortRoute, Probe, Record, parse_podinfo, summarize


def probe_for(server, rate=100.0, timeout=0.5):
    return Probe("web", "lab", rate=rate, timeout=timeout,
                 route=NodePortRoute("127.0.0.1", server.port, "/"))


def test_probe_keeps_its_rate_and_records_every_request(podinfo_server):
    probe = probe_for(podinfo_server).start()
    time.sleep(2.0)
    s = probe.stop()
    assert not probe.running
    assert 170 <= s.total <= 215, s
    assert s.failures == 0 and s.failure_rate == 0.0
    assert set(s.versions) == {"6.7.0", "6.7.1"}
    assert set(s.pods) == {"podinfo-0", "podinfo-1", "podinfo-2"}
    assert s.longest_gap < 0.2
    rec = probe.records[0]
    assert rec.ok and rec.status == 200 and rec.version in ("6.7.0", "6.7.1")
    assert rec.latency < 0.5
    # a new connection per request, so a Service can spread them over pods
    assert len(podinfo_server.clients) == podinfo_server.count


def test_failures_and_the_longest_gap_are_measured(podinfo_server):
    probe = probe_for(podinfo_server).start()
    time.sleep(0.5)
    podinfo_server.fail = True
    time.sleep(0.6)
    podinfo_server.fail = False
    time.sleep(0.5)
    s = probe.stop()
    assert 40 <= s.failures <= 80, s
    assert s.errors.keys() == {"HTTP 503"}
    assert 0.5 <= s.longest_gap <= 0.9
    assert any(f for _, _, f in s.per_second)


def test_connection_errors_are_failures_not_crashes():
    probe = Probe("web", "lab", rate=50, timeout=0.2,
                  route=NodePortRoute("127.0.0.1", 1, "/")).start()  # nothing listens on :1
    time.sleep(0.5)
    s = probe.stop()
    assert s.total >= 15 and s.ok == 0
    assert s.errors.keys() == {"ConnectionRefusedError"}
    assert s.longest_gap == pytest.approx(s.duration)


def test_hanging_backend_is_time_boxed_and_does_not_stall_the_rate():
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)  # accepts connections, never answers
    port = listener.getsockname()[1]
    try:
        probe = Probe("web", "lab", rate=40, timeout=0.3,
                      route=NodePortRoute("127.0.0.1", port, "/")).start()
        time.sleep(1.0)
        s = probe.stop()
    finally:
        listener.close()
    assert s.total >= 35, s  # requests kept being sent while earlier ones hung
    assert s.errors.get("timeout", 0) == s.total
    assert max(r.latency for r in probe.records) < 1.0


def test_stop_leaves_no_threads(podinfo_server):
    before = {t.name for t in threading.enumerate()}
    with probe_for(podinfo_server, rate=50):
        time.sleep(0.3)
    time.sleep(0.1)
    leftover = {t.name for t in threading.enumerate()} - before
    assert not [n for n in leftover if n.startswith("rollout-labs")], leftover


def test_summarize_gap_and_buckets_from_synthetic_records():
    recs = [Record(0.0, 0.01, 200, None, "a", "p1"), Record(0.5, 0.01, 503, "HTTP 503", None, None),
            Record(1.0, 0.01, None, "timeout", None, None), Record(2.0, 0.01, 200, None, "b", "p2")]
    s = summarize(recs)
    assert (s.total, s.ok, s.failures) == (4, 2, 2)
    assert s.longest_gap == pytest.approx(2.0)
    assert s.per_second == [(0, {"a": 1}, 1), (1, {}, 1), (2, {"b": 1}, 0)]
    assert s.version_share() == {"a": 0.5, "b": 0.5}
    assert "2 failed" in str(s) and "HTTP 503" in s._repr_html_()
    assert summarize([]).total == 0


def test_parse_podinfo():
    assert parse_podinfo(b'{"hostname":"p-1","version":"6.7.0"}') == ("6.7.0", "p-1")
    assert parse_podinfo(b"<html>") == (None, None)
    assert parse_podinfo(b"[1]") == (None, None)
