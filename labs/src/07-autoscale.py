# %% [markdown]
# # Lab 07 · Autoscale with CPU load
#
# So far you chose the number of replicas. A **HorizontalPodAutoscaler** (HPA) chooses it for you:
# it watches the pods' CPU use and adds pods when they are busy, removes pods when they are idle.
#
# **Learning goals**
#
# - Create an HPA with `kubectl autoscale`, then the same thing as YAML.
# - Know the three things an HPA needs: a metrics API, CPU requests on the pods, and a target.
# - Generate load, watch CPU and replicas rise, stop the load, watch them fall.
#
# The app is `php-apache` from the Kubernetes HPA walkthrough: every request burns some CPU and
# answers `OK!`. Its image, `registry.k8s.io/hpa-example`, is amd64 only. On an arm64 cluster
# (Apple Silicon) see `manifests/autoscale/php-apache.yaml` for a replacement.

# %% [markdown]
# ## 1. The app, and the metrics it needs

# %%
import time

from helpers import checks, cluster, labkit, rollout, traffic, widgets
from helpers.kubectl import kubectl

LAB, NS = "07-autoscale", "lab07-autoscale"
LOAD_RATE = 12  # requests per second during the load test
c = labkit.start(LAB, NS)

# %%
print(open(labkit.manifest("autoscale", "php-apache.yaml")).read())

# %%
kubectl("apply", "-f", labkit.manifest("autoscale", "php-apache.yaml"), "-n", NS)

# %%
status = rollout.wait_for_rollout("php-apache", NS, timeout=180)

# %%
checks.check_deployment_ready(NS, "php-apache", replicas=1)

# %% [markdown]
# The HPA reads CPU from the **metrics API** (`metrics.k8s.io`), served by metrics-server.
# On minikube: `minikube addons enable metrics-server`. Without it, the HPA shows `<unknown>`.

# %%
checks.check_metrics_api()

# %% [markdown]
# ## 2. `kubectl autoscale`
#
# The quick way: "keep between 2 and 4 pods, aim for 60 % CPU".
#
# ```bash
# kubectl autoscale deployment php-apache --min=2 --max=4 --cpu-percent=60
# ```
#
# "60 %" means 60 % of each pod's CPU **request** (200m here), so about 120m per pod.
# That is why pods without a CPU request cannot be autoscaled on CPU.

# %%
kubectl("autoscale", "deployment", "php-apache", "--min=2", "--max=4", "--cpu-percent=60", "-n", NS)

# %% [markdown]
# kubectl 1.34 and newer print a warning here: `--cpu-percent` is deprecated. The new flag is
# `--cpu`, which takes either a percentage of the request (`--cpu=60%`) or an absolute amount per pod
# (`--cpu=120m`). The command still works. Next time write:
#
# ```bash
# kubectl autoscale deployment php-apache --min=2 --max=4 --cpu=60%
# ```

# %%
kubectl("get", "hpa", "-n", NS)

# %%
checks.check_hpa(NS, "php-apache", min_replicas=2, max_replicas=4, cpu_percent=60)

# %% [markdown]
# The minimum is 2, so the HPA raises the Deployment from 1 to 2 pods at its next check.

# %%
labkit.wait_until(lambda: len(labkit.serving_pods(NS, "app=php-apache")) >= 2, timeout=120,
                  what="the HPA raising php-apache to its minimum of 2 pods")
checks.check_deployment_ready(NS, "php-apache", replicas=2)

# %% [markdown]
# ## 3. The same as YAML
#
# A file is easier to review and keep in git. `manifests/autoscale/hpa.yaml` allows 2 to 6 pods at
# 60 % CPU, and adds a `behavior` block:
#
# - `scaleUp`: add up to 2 pods every 15 seconds, no waiting.
# - `scaleDown`: look at the last 30 seconds before removing pods. The default is 5 minutes,
#   which protects against flapping but is too slow for a workshop.

# %%
print(open(labkit.manifest("autoscale", "hpa.yaml")).read())

# %% [markdown]
# Replace the first HPA with the file. `kubectl delete hpa` removes only the autoscaler; the pods stay.

# %%
kubectl("delete", "hpa", "php-apache", "-n", NS)

# %%
rollout.apply(labkit.manifest("autoscale", "hpa.yaml"), NS)

# %%
checks.check_hpa(NS, "php-apache", min_replicas=2, max_replicas=6, cpu_percent=60)

# %% [markdown]
# Before the HPA can act it needs a first CPU reading. Until then `TARGETS` shows `<unknown>`.

# %%
checks.check_hpa_metrics(NS, "php-apache", wait=120)

# %%
kubectl("get", "hpa", "-n", NS)

# %% [markdown]
# ## 4. Generate load
#
# The panel below sends a steady stream of requests to the Service. The chart shows average CPU
# (as % of the request), the 60 % target, and the number of replicas.
#
# Press **Generate load**. The next cell presses it for you.

# %%
panel = widgets.hpa_panel("php-apache", "php-apache", NS, rate=LOAD_RATE, timeout=10)
load, hpa_chart = panel.controls
panel

# %%
board = widgets.PodBoard(NS, "app=php-apache")
board

# %%
load_probe = load.start()
print(f"sending {LOAD_RATE} requests per second via {load_probe.route.describe()}")

# %% [markdown]
# The HPA checks every 15 seconds. It computes
# `desired = ceil(current replicas × current CPU % / target %)`. For example 2 pods at 150 % give
# `ceil(2 × 150 / 60) = 5`. Give it a minute or two.

# %%
checks.check_hpa_scaled_up(NS, "php-apache", above=2, wait=240)

# %%
kubectl("get", "hpa", "-n", NS)

# %% [markdown]
# The new pods need a few seconds to start. Keep the load on, and wait for them and for one more
# check of the HPA: the same load, spread over more pods, shows a lower CPU percentage.

# %%
status = rollout.wait_for_rollout("php-apache", NS, timeout=180)
time.sleep(20)
kubectl("get", "hpa", "-n", NS)

# %%
kubectl("top", "pods", "-n", NS, check=False)

# %% [markdown]
# ## 5. Stop the load, watch it scale in
#
# CPU drops at once. The HPA waits for the scale-down window (30 seconds in our file) so that a
# short dip does not remove pods that are needed again a moment later.
#
# Without a `behavior` block the window is the cluster-wide default of 5 minutes, set on the
# controller manager with `--horizontal-pod-autoscaler-downscale-stabilization` (older texts call
# it `--horizontal-pod-autoscaler-downscale-delay`). `behavior` lets each HPA choose its own.

# %%
load.stop_load()

# %%
checks.check_hpa_scaled_down(NS, "php-apache", to=2, wait=300)

# %%
kubectl("get", "hpa", "-n", NS)

# %% [markdown]
# The HPA's events tell the story in its own words:

# %%
kubectl("get", "events", "-n", NS, "--field-selector", "involvedObject.kind=HorizontalPodAutoscaler")

# %% [markdown]
# ## 6. Clean up

# %%
labkit.stop(panel, board, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **Recap**
#
# - An HPA needs a metrics API, CPU requests on the pods, and a target.
# - `kubectl autoscale ... --cpu=60%` (formerly `--cpu-percent=60`) and an `autoscaling/v2` YAML do the same job.
# - Scale-up is quick; scale-down waits for a stabilization window, which `behavior` lets you tune.
#
# Next: **Lab 08 · StatefulSet rollouts**.
