# %% [markdown]
# # Lab 04 · Roll out a new version without dropping a request
#
# Changing the image of a Deployment starts a **rolling update**: new pods come up, old pods go
# away, a few at a time. In this lab you roll out podinfo 6.7.1 over 6.7.0 while a probe sends
# 50 requests per second, and you prove that not a single one fails.
#
# **Learning goals**
#
# - Start a rollout with `kubectl set image`, follow it with `kubectl rollout status`, list it with `kubectl rollout history`.
# - Measure a rollout with real traffic: at least 1,000 requests, zero failures.
# - Explain `maxSurge` and `maxUnavailable` from the ReplicaSet sizes you observe step by step.
# - Pause a rollout, make several changes, and resume them as one revision.

# %% [markdown]
# ## 1. Set up
#
# podinfo 6.7.0 again, scaled to 4 replicas so the rollout has several steps.

# %%
from helpers import checks, cluster, labkit, rollout, traffic, widgets
from helpers.kubectl import kubectl

LAB, NS = "04-rollout", "lab04-rollout"
V1 = "ghcr.io/stefanprodan/podinfo:6.7.0"
V2 = "ghcr.io/stefanprodan/podinfo:6.7.1"
c = labkit.start(LAB, NS)
display(rollout.apply(labkit.manifest("podinfo"), NS))
rollout.scale("podinfo", NS, 4)

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=180)

# %%
checks.check_deployment_ready(NS, "podinfo", replicas=4, image=V1)

# %% [markdown]
# ## 2. The update strategy
#
# The Deployment's `strategy` block sets the pace of a rolling update:
#
# - `maxSurge: 1` — at most 1 pod **above** the wanted 4 during the update, so at most 5 pods.
# - `maxUnavailable: 0` — never fewer than 4 available pods.
#
# Together: start one new pod, wait until it is ready, then remove one old pod. Repeat.
# Capacity never drops. The price is one extra pod's worth of CPU and memory during the update.

# %%
kubectl("get", "deployment", "podinfo", "-n", NS, "-o", "jsonpath={.spec.strategy}")

# %% [markdown]
# ## 3. Watch it live
#
# Three views for the rollout:
#
# - the **pod board**: tiles coloured by version;
# - the **traffic probe**: 50 requests per second to the Service, with answers per version per second;
# - the **rollout timeline**: ready pods of each ReplicaSet over time.

# %%
board = widgets.PodBoard(NS, "app=podinfo")
board

# %%
probe = traffic.Probe("podinfo", NS, rate=50).start()
chart = widgets.TrafficChart(probe)
chart

# %%
timeline = widgets.RolloutTimeline("podinfo", NS)
timeline

# %% [markdown]
# ## 4. Set the new image
#
# `kubectl set image` changes the image in the pod template. A changed template means a new
# **revision**: the Deployment creates a second ReplicaSet for 6.7.1 and shifts pods to it.
#
# ```bash
# kubectl set image deployment/podinfo podinfo=ghcr.io/stefanprodan/podinfo:6.7.1 -n lab04-rollout
# ```
#
# `podinfo=` names the container inside the pod. The second command records *why* we changed it;
# `kubectl rollout history` shows that text as CHANGE-CAUSE.

# %%
display(kubectl("set", "image", "deployment/podinfo", f"podinfo={V2}", "-n", NS))
kubectl("annotate", "deployment/podinfo", "kubernetes.io/change-cause=upgrade to 6.7.1",
        "--overwrite", "-n", NS)

# %% [markdown]
# `kubectl rollout status` follows the rollout and prints each stage. `--timeout` makes sure the
# cell never waits forever.

# %%
kubectl("rollout", "status", "deployment/podinfo", "-n", NS, "--timeout=180s", timeout=200)

# %%
checks.check_image(NS, "podinfo", V2)

# %% [markdown]
# ## 5. Did any request fail?
#
# The probe kept sending during the whole rollout. We let it reach at least 1,000 requests,
# and wait until the old pods have fully shut down, then stop it.

# %%
probe.wait_for(1000, timeout=90)
labkit.wait_until(lambda: all(not p.deleting for p in board.pods), timeout=60,
                  what="old pods finishing their shutdown")
summary = probe.stop()
summary

# %% [markdown]
# The chart shows the answers moving from 6.7.0 to 6.7.1 with no red bars.
# Three things made that possible:
#
# 1. **Readiness probe.** A new pod gets requests only once `/readyz` says yes.
# 2. **maxUnavailable 0.** An old pod is removed only after a new one is ready.
# 3. **preStop pause.** A removed pod leaves the Service's endpoints first, then keeps answering
#    for 5 seconds before it is asked to stop, so requests already routed to it still succeed.
#
# Lab 09 removes these one at a time and measures what breaks.

# %%
checks.check_zero_downtime(summary, min_requests=1000)

# %% [markdown]
# ## 6. The rollout step by step
#
# The timeline recorded the ReplicaSet sizes every half second. Each row below is one distinct
# state: `desired/ready` pods of the old ReplicaSet (6.7.0) and of the new one (6.7.1), and the
# totals.

# %%
labkit.steps_table(timeline.samples, ["6.7.0", "6.7.1"])

# %% [markdown]
# Read it from the top. The new ReplicaSet goes to 1, its pod becomes ready, then the old one
# shrinks by 1, and so on. The total never goes above 4 + 1 = 5 pods, and the ready pods never
# drop below 4 − 0 = 4.

# %%
checks.check_surge_respected(timeline.samples, replicas=4, max_surge=1, max_unavailable=0)

# %% [markdown]
# ## 7. A faster, riskier pace
#
# Now allow 2 extra pods and 1 missing pod: `maxSurge: 2`, `maxUnavailable: 1`. With 4 replicas
# that means up to 6 pods, and as few as 3 available. The rollout needs fewer rounds.
#
# Changing the strategy is not a new revision: it is not part of the pod template.

# %%
kubectl("patch", "deployment", "podinfo", "-n", NS, "-p",
        '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":2,"maxUnavailable":1}}}}')

# %% [markdown]
# This time use the image picker. Choose an image and press **Roll out**.
# The next cell presses it for you, with 6.7.0, so the lab also runs unattended.

# %%
timeline.stop()
timeline2 = widgets.RolloutTimeline("podinfo", NS)
probe2 = traffic.Probe("podinfo", NS, rate=50).start()
picker = widgets.ImagePicker("podinfo", NS, "podinfo", [V1, V2])
picker

# %%
timeline2

# %%
picker.roll_out(V1)
picker.wait(timeout=180)
status = rollout.wait_for_rollout("podinfo", NS, timeout=180)

# %%
labkit.steps_table(timeline2.samples, ["6.7.1", "6.7.0"])

# %% [markdown]
# Two new pods start at once, and one old pod goes right away: 4 − 1 = 3 ready pods is allowed.

# %%
checks.check_image(NS, "podinfo", V1)
checks.check_surge_respected(timeline2.samples, replicas=4, max_surge=2, max_unavailable=1)

# %% [markdown]
# Even with one pod missing, three pods serve and nothing fails: the Service only sends
# requests to ready pods.

# %%
labkit.wait_until(lambda: all(not p.deleting for p in board.pods), timeout=60,
                  what="old pods finishing their shutdown")
summary2 = probe2.stop()
summary2

# %%
checks.check_zero_downtime(summary2, min_requests=300)

# %% [markdown]
# ## 8. History
#
# Every revision is a ReplicaSet the Deployment keeps around (scaled to 0).
# `kubectl rollout history` lists them. Going back to 6.7.0 reused revision 1's ReplicaSet and
# renumbered it as revision 3 (lab 05 looks at this closely).

# %%
kubectl("rollout", "history", "deployment/podinfo", "-n", NS)

# %% [markdown]
# The same from Python, with the image of each revision:

# %%
for rev in rollout.history("podinfo", NS):
    print(rev.revision, rev.image, rev.change_cause)

# %% [markdown]
# `--revision=N` shows the pod template of one revision:

# %%
kubectl("rollout", "history", "deployment/podinfo", "-n", NS, "--revision=2")

# %%
checks.check_history(NS, "podinfo", min_revisions=2)

# %% [markdown]
# ## 9. Pause and resume
#
# Sometimes you want to make several changes and roll them out together.
# `kubectl rollout pause` freezes the Deployment: you can still edit it, but no new ReplicaSet is created.

# %%
kubectl("rollout", "pause", "deployment/podinfo", "-n", NS)

# %%
checks.check_paused(NS, "podinfo", paused=True)

# %% [markdown]
# Two edits while paused: a new environment variable (`kubectl set env`), and a new image (Python).

# %%
revisions_before = [r.revision for r in rollout.history("podinfo", NS)]
kubectl("set", "env", "deployment/podinfo", "PODINFO_UI_MESSAGE=rolled out after a pause", "-n", NS)

# %%
rollout.set_image("podinfo", NS, "podinfo", V2, change_cause="6.7.1 with a new message")

# %% [markdown]
# Nothing moved: the ReplicaSets and the history are exactly as before.

# %%
kubectl("get", "replicaset", "-n", NS)

# %%
revisions_paused = [r.revision for r in rollout.history("podinfo", NS)]
print("before:", revisions_before, " while paused:", revisions_paused)
assert revisions_paused == revisions_before, "a paused Deployment must not create revisions"

# %% [markdown]
# A paused Deployment also refuses a rollback, with a message that says what to do:

# %%
try:
    rollout.undo("podinfo", NS)
except rollout.RolloutError as err:
    print("error:", err)

# %% [markdown]
# Resume. Both edits go out in **one** rollout, as **one** new revision.

# %%
kubectl("rollout", "resume", "deployment/podinfo", "-n", NS)

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=180)

# %%
kubectl("rollout", "history", "deployment/podinfo", "-n", NS)

# %%
checks.check_paused(NS, "podinfo", paused=False)
checks.check_image(NS, "podinfo", V2)
revisions_after = [r.revision for r in rollout.history("podinfo", NS)]
assert len(revisions_after) == len(revisions_before) + 1, revisions_after
print(f"✓ one new revision for two edits: {revisions_after[-1]}")

# %% [markdown]
# ## 10. Clean up

# %%
labkit.stop(board, chart, timeline, timeline2, picker, probe, probe2, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **Recap**
#
# - Changing the pod template (for example the image) starts a rolling update and a new revision.
# - `maxSurge` sets how many extra pods may exist; `maxUnavailable` how many may be missing.
#   Percentages: surge rounds up, unavailable rounds down. They cannot both be 0.
# - Readiness probe + `maxUnavailable: 0` + a preStop pause gave zero failed requests.
# - Pause collects edits; resume rolls them out as one revision.
#
# Next: **Lab 05 · Roll back**.
