# %% [markdown]
# # Lab 06 · Blue-green: switch all traffic at once
#
# A rolling update mixes old and new pods for a while. Sometimes you do not want that, for
# example when the new version changes an API. **Blue-green** avoids the mix: the new version
# (green) runs next to the old one (blue), you test it on its own, then you move all traffic in
# one step by changing a Service's selector.
#
# **Learning goals**
#
# - Run two versions side by side, each with a Service of its own, and test the new one privately.
# - Switch the live Service from blue to green under traffic: zero failures, and the version flips.
# - Switch back in one step, then retire blue.

# %% [markdown]
# ## 1. Blue is live
#
# Three objects to start with:
#
# - Deployment `podinfo-blue`: podinfo 6.7.0, pods labelled `version: blue`;
# - Service `podinfo-blue`: reaches only the blue pods;
# - Service `podinfo-live`: what users call. Its selector says `version: blue`.

# %%
from helpers import checks, cluster, labkit, rollout, traffic, widgets
from helpers.kubectl import kubectl

LAB, NS = "06-blue-green", "lab06-blue-green"
BLUE = {"app": "podinfo", "version": "blue"}
GREEN = {"app": "podinfo", "version": "green"}
c = labkit.start(LAB, NS)

# %%
kubectl("apply", "-f", labkit.manifest("blue-green", "blue.yaml"), "-f",
        labkit.manifest("blue-green", "live.yaml"), "-n", NS)

# %%
status = rollout.wait_for_rollout("podinfo-blue", NS, timeout=180)

# %%
checks.check_deployment_ready(NS, "podinfo-blue", replicas=2)
checks.check_service_selects(NS, "podinfo-live", BLUE)
checks.check_app_responds(NS, "podinfo-live", version="6.7.0")

# %% [markdown]
# ## 2. Green next to blue
#
# Green is a second Deployment, podinfo 6.7.1, with pods labelled `version: green`.
# Applying it changes nothing for users: `podinfo-live` still selects blue.

# %%
board = widgets.PodBoard(NS, "app=podinfo")
board

# %%
rollout.apply(labkit.manifest("blue-green", "green.yaml"), NS)

# %%
status = rollout.wait_for_rollout("podinfo-green", NS, timeout=180)

# %%
kubectl("get", "pods", "-n", NS, "-L", "version")

# %%
checks.check_deployment_ready(NS, "podinfo-green", replicas=2)

# %% [markdown]
# ## 3. Test green on its own
#
# The Service `podinfo-green` reaches only green pods. Testers (or automated smoke tests) use it
# before any user sees green.

# %%
kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/services/podinfo-green:80/proxy/version")

# %%
checks.check_app_responds(NS, "podinfo-green", version="6.7.1")
checks.check_app_responds(NS, "podinfo-live", version="6.7.0")

# %% [markdown]
# ## 4. Switch under traffic
#
# Start the probe on `podinfo-live`. Then flip the switch below to **green**.
# (The next cell flips it for you.)

# %%
probe = traffic.Probe("podinfo-live", NS, rate=50).start()
chart = widgets.TrafficChart(probe)
chart

# %%
switch = widgets.BlueGreenSwitch("podinfo-live", NS, {"blue": BLUE, "green": GREEN})
switch

# %% [markdown]
# The switch changes one field of the Service. In a terminal:
#
# ```bash
# kubectl patch service podinfo-live -n lab06-blue-green -p '{"spec":{"selector":{"version":"green"}}}'
# ```

# %%
import time

probe.wait_for(250, timeout=30)
t_switch = probe.now()
switch.switch("green")
switch.wait()
time.sleep(6)

# %%
checks.check_service_selects(NS, "podinfo-live", GREEN)

# %% [markdown]
# In the chart, the bars change colour from one second to the next: all 6.7.0 before, all 6.7.1
# after. There is no mixed phase as in a rolling update (at most a second or two while the
# change travels to the node).

# %%
after_switch = probe.summary(since=t_switch + 3)
after_switch

# %%
checks.check_traffic_version(after_switch, "6.7.1", min_share=1.0)

# %% [markdown]
# ## 5. Switch back
#
# Found a problem in green? Going back is the same one-field change, and blue is still warm.
# This time with `kubectl patch`:

# %%
t_back = probe.now()
display(kubectl("patch", "service", "podinfo-live", "-n", NS, "-p", '{"spec":{"selector":{"version":"blue"}}}'))
time.sleep(6)

# %%
checks.check_service_selects(NS, "podinfo-live", BLUE)
checks.check_traffic_version(probe.summary(since=t_back + 3), "6.7.0", min_share=1.0)

# %% [markdown]
# ## 6. Go green for good and retire blue
#
# Switch to green again. Do not delete blue right away: nodes may take a moment to learn about
# the new selector, and requests already on their way to blue pods must finish. Tools such as
# Argo Rollouts wait 30 seconds by default; 10 seconds is enough here.

# %%
switch.switch("green")
switch.wait()
time.sleep(10)

# %%
display(kubectl("delete", "deployment", "podinfo-blue", "-n", NS))
kubectl("delete", "service", "podinfo-blue", "-n", NS)

# %%
checks.check_deleted(NS, "deployment", "podinfo-blue")
checks.check_service_selects(NS, "podinfo-live", GREEN)

# %% [markdown]
# ## 7. The verdict
#
# The probe ran through three switches and the retirement of blue.

# %%
labkit.wait_until(lambda: all(not p.deleting for p in board.pods), timeout=60,
                  what="blue pods finishing their shutdown")
summary = probe.stop()
summary

# %%
checks.check_zero_downtime(summary, min_requests=1000)

# %% [markdown]
# Blue-green costs double the pods during the switch. In return you get an instant, all-or-nothing
# switch and an instant way back. Watch out for data: if green changes a database schema, blue
# must still work with it, or switching back will not help.

# %% [markdown]
# ## 8. Clean up

# %%
labkit.stop(board, chart, switch, probe, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **Recap**
#
# - Blue and green are two Deployments; a label (`version`) tells their pods apart.
# - The live Service's selector decides who gets traffic. Switching is one patch, and so is switching back.
# - Test green through its own Service first; keep blue a little while after the switch.
#
# Next: **Lab 07 · Autoscale**.
