# %% [markdown]
# # Lab 05 · Roll back a bad release
#
# Sooner or later a release goes wrong. In this lab the new release has a typo in its image tag:
# `6.71` instead of `6.7.1`. That image does not exist. You will see the rollout get stuck while
# the old pods keep serving, then undo it, and learn how the revision history behaves.
#
# **Learning goals**
#
# - Recognise a stuck rollout (`ErrImagePull`, `ImagePullBackOff`) and see why users are not affected.
# - Use `progressDeadlineSeconds` to make a stuck rollout fail clearly.
# - Roll back with `kubectl rollout undo` and `--to-revision`, and explain why revisions get new numbers.
# - Record a CHANGE-CAUSE, and limit the history with `revisionHistoryLimit`.

# %% [markdown]
# ## 1. Two good releases
#
# Releases here are files, as a delivery pipeline would apply them. Each file is the full Deployment,
# and carries the annotation `kubernetes.io/change-cause` that names the release.

# %%
from helpers import checks, cluster, labkit, rollout, traffic, widgets
from helpers.kubectl import kubectl

LAB, NS = "05-rollback", "lab05-rollback"
V1 = "ghcr.io/stefanprodan/podinfo:6.7.0"
V2 = "ghcr.io/stefanprodan/podinfo:6.7.1"
c = labkit.start(LAB, NS)

# %%
kubectl("apply", "-f", labkit.manifest("podinfo"), "-n", NS)

# %%
kubectl("rollout", "status", "deployment/podinfo", "-n", NS, "--timeout=180s", timeout=200)

# %%
kubectl("apply", "-f", labkit.manifest("releases", "podinfo-6.7.1.yaml"), "-n", NS)

# %%
kubectl("rollout", "status", "deployment/podinfo", "-n", NS, "--timeout=180s", timeout=200)

# %%
kubectl("rollout", "history", "deployment/podinfo", "-n", NS)

# %%
checks.check_image(NS, "podinfo", V2)
checks.check_history(NS, "podinfo", min_revisions=2)

# %% [markdown]
# ## 2. The bad release
#
# Start the live views first: the pod board, and the probe with its chart.

# %%
board = widgets.PodBoard(NS, "app=podinfo")
board

# %%
probe = traffic.Probe("podinfo", NS, rate=50).start()
chart = widgets.TrafficChart(probe)
chart

# %% [markdown]
# Now apply the release with the typo. Its only difference from the last one is the tag.

# %%
kubectl("apply", "-f", labkit.manifest("releases", "podinfo-6.71-typo.yaml"), "-n", NS)

# %% [markdown]
# The helper waits like `kubectl rollout status`, but it notices a pod that cannot start and
# explains why, instead of waiting the full deadline.

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=120, raise_on_stuck=False)
print(status.stuck)

# %% [markdown]
# On the board: one new striped tile that never turns solid, and the two old pods still solid.
# `kubectl get pods` shows the reason in the STATUS column.

# %%
kubectl("get", "pods", "-n", NS)

# %%
checks.check_rollout_stuck(NS, "podinfo")

# %% [markdown]
# Why are users fine? The strategy has `maxUnavailable: 0`. The Deployment removes an old pod only
# after a new pod is ready, and the new pod never gets ready. So the rollout stops at the first step.

# %%
kubectl("get", "replicaset", "-n", NS)

# %% [markdown]
# ## 3. How long does Kubernetes wait?
#
# `kubectl rollout status` on its own would wait. Here we give it 10 seconds:

# %%
kubectl("rollout", "status", "deployment/podinfo", "-n", NS, "--timeout=10s", check=False, timeout=30)

# %% [markdown]
# The Deployment itself waits `progressDeadlineSeconds` (600 by default, 120 in our file) for
# progress. Then it marks the rollout as failed: condition `Progressing` becomes `False` with reason
# `ProgressDeadlineExceeded`. Nothing is rolled back automatically; the mark tells people and
# pipelines to act.
#
# To see it quickly, lower the deadline to 10 seconds:

# %%
kubectl("patch", "deployment", "podinfo", "-n", NS, "-p", '{"spec":{"progressDeadlineSeconds":10}}')

# %%
labkit.check_progress_deadline_exceeded(NS, "podinfo", wait=60)

# %% [markdown]
# Now `kubectl rollout status` stops at once, with an error and exit code 1. A pipeline can
# react to that exit code.

# %%
kubectl("rollout", "status", "deployment/podinfo", "-n", NS, "--timeout=30s", check=False, timeout=60)

# %%
kubectl("get", "deployment", "podinfo", "-n", NS, "-o",
        'jsonpath={range .status.conditions[*]}{.type}={.status} ({.reason}){"\\n"}{end}')

# %% [markdown]
# And the users? The probe has been running all along.

# %%
stuck_summary = probe.summary()
stuck_summary

# %%
checks.check_zero_downtime(stuck_summary, min_requests=500)

# %% [markdown]
# ## 4. Undo
#
# `kubectl rollout undo` puts back the pod template of the previous revision.
# First we set the deadline back to something sensible.

# %%
kubectl("patch", "deployment", "podinfo", "-n", NS, "-p", '{"spec":{"progressDeadlineSeconds":120}}')

# %% [markdown]
# kubectl may warn that the Deployment was managed with `kubectl apply`: an undo does not update the
# copy of the last applied file. The next `kubectl apply` should therefore use a fixed file.

# %%
kubectl("rollout", "undo", "deployment/podinfo", "-n", NS)

# %%
kubectl("rollout", "status", "deployment/podinfo", "-n", NS, "--timeout=180s", timeout=200)

# %%
checks.check_rolled_back_to(NS, "podinfo", V2, revision=4)

# %% [markdown]
# ## 5. Where did revision 2 go?

# %%
kubectl("rollout", "history", "deployment/podinfo", "-n", NS)

# %% [markdown]
# The history now reads 1, 3, 4. An undo does not create a copy of revision 2: it reuses revision 2's
# ReplicaSet and gives it the next number, 4. Its old number is kept in an annotation:

# %%
kubectl("get", "replicaset", "-n", NS, "-o",
        "custom-columns=REPLICASET:.metadata.name,REVISION:.metadata.annotations.deployment\\.kubernetes\\.io/revision,"
        "EARLIER:.metadata.annotations.deployment\\.kubernetes\\.io/revision-history,"
        "IMAGE:.spec.template.spec.containers[0].image,PODS:.spec.replicas")

# %% [markdown]
# ## 6. Back to a specific revision
#
# `--to-revision=N` picks a revision by its number. Revision 1 is still 6.7.0. It becomes revision 5.

# %%
kubectl("rollout", "undo", "deployment/podinfo", "-n", NS, "--to-revision=1")

# %%
kubectl("rollout", "status", "deployment/podinfo", "-n", NS, "--timeout=180s", timeout=200)

# %%
checks.check_rolled_back_to(NS, "podinfo", V1, revision=5)

# %% [markdown]
# A plain `undo` always goes to the second newest revision. So two undos in a row flip between the
# last two versions; they do not walk further back. Here is one more undo, with the Python helper:

# %%
rollout.undo("podinfo", NS)

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=180)

# %%
kubectl("rollout", "history", "deployment/podinfo", "-n", NS)

# %%
checks.check_rolled_back_to(NS, "podinfo", V2, revision=6)

# %% [markdown]
# ## 7. CHANGE-CAUSE
#
# The CHANGE-CAUSE column shows the annotation `kubernetes.io/change-cause` of each revision.
# Our release files set it. Without it, the column says `<none>`.
#
# The old way to fill it was `kubectl ... --record`. That flag is deprecated. Set the annotation
# yourself instead. Annotating the Deployment right after a change labels the current revision:

# %%
kubectl("annotate", "deployment/podinfo", "kubernetes.io/change-cause=rolled back: 6.71 was a typo",
        "--overwrite", "-n", NS)

# %%
labkit.wait_until(lambda: "typo" in (rollout.history("podinfo", NS)[-1].change_cause or ""),
                  timeout=30, what="the new change-cause reaching the ReplicaSet")
kubectl("rollout", "history", "deployment/podinfo", "-n", NS)

# %%
checks.check_change_cause(NS, "podinfo", "typo")

# %% [markdown]
# ## 8. How much history to keep
#
# Every old revision is a ReplicaSet with 0 pods. `revisionHistoryLimit` (default 10) says how many
# old ones to keep. Fewer means less clutter, but also fewer versions to roll back to.
# With 0 you could not roll back at all.
#
# Keep only one old revision:

# %%
kubectl("patch", "deployment", "podinfo", "-n", NS, "-p", '{"spec":{"revisionHistoryLimit":1}}')

# %%
checks.check_history_limit(NS, "podinfo", 1)

# %%
kubectl("rollout", "history", "deployment/podinfo", "-n", NS)

# %% [markdown]
# The oldest revisions are gone, and so are their ReplicaSets.
#
# The probe ran through all of this: a stuck release, three rollbacks. Time to read it.

# %%
labkit.wait_until(lambda: all(not p.deleting for p in board.pods), timeout=60,
                  what="old pods finishing their shutdown")
summary = probe.stop()
summary

# %%
checks.check_zero_downtime(summary, min_requests=1000)

# %% [markdown]
# ## 9. Clean up

# %%
labkit.stop(board, chart, probe, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **Recap**
#
# - A release with a missing image gets stuck at its first new pod; with `maxUnavailable: 0` the old
#   pods keep serving.
# - `progressDeadlineSeconds` turns "stuck" into a clear failure that tools can see.
# - `rollout undo` reuses an old ReplicaSet and gives it the next revision number;
#   `--to-revision=N` picks one; repeated undos flip between the last two.
# - Set `kubernetes.io/change-cause` yourself (`--record` is deprecated); tune `revisionHistoryLimit`.
#
# Next: **Lab 06 · Blue-green**.
