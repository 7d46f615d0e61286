# %% [markdown]
# # Lab 00 · Start here: pick a cluster and check it
#
# This workshop is about changing a running app without anyone noticing.
# Before we change anything, we make sure the labs talk to the right cluster,
# and that the cluster has everything the later labs use.
#
# **Learning goals**
#
# - Know which cluster the notebooks use, and how to choose another one.
# - Run a real `kubectl` command from a notebook and read what it prints.
# - Confirm that the cluster can pull images, run pods, route traffic and report CPU.
#
# **How every lab works**
#
# - Run the cells from top to bottom with **Shift + Enter**.
# - Each step shows the `kubectl` command you would type in a terminal, and runs it.
# - Some steps use a Python helper instead. It prints the matching `kubectl` command too.
# - A **check** cell follows each step. It prints a ✓, or it tells you what went wrong and how to fix it.
# - The last cell of a lab deletes everything the lab created.

# %% [markdown]
# ## 1. Choose a cluster
#
# The labs work on four kinds of cluster. They never pick one on their own.
#
# | cluster | what to do |
# |---|---|
# | **built-in sandbox** (default) | Nothing. It starts the first time a lab connects. It runs on this machine and needs no Docker. |
# | **minikube** | Start it, enable metrics, then set `ROLLOUT_LABS_CONTEXT=minikube` (steps below). |
# | **kind** | `kind create cluster`, install metrics-server, set `ROLLOUT_LABS_CONTEXT=kind-kind`. |
# | **a cloud cluster** | Set `ROLLOUT_LABS_CONTEXT` to its kubeconfig context. Use a test cluster, not production. |
#
# The variable must be set **before** JupyterLab starts, because every notebook reads it.
# Without it, the labs use the sandbox, even if your terminal points at another cluster.
# That way a lab can never scale or delete things on a cluster you did not choose.

# %% [markdown]
# ### minikube, step by step
#
# Run these in a terminal, not in the notebook:
#
# ```bash
# minikube start --cpus=2 --memory=4096        # about a minute the first time
# minikube addons enable metrics-server         # lab 07 needs CPU numbers
# kubectl config get-contexts                   # the context is called "minikube"
# export ROLLOUT_LABS_CONTEXT=minikube
# rollout-labs up --context minikube            # starts JupyterLab for that cluster
# ```
#
# Two things to know about minikube:
#
# - With the Docker driver on macOS or Windows, `minikube ip` plus a NodePort is not reachable.
#   Use `minikube service <name> -n <namespace> --url` in a terminal. The notebooks go through the
#   API server's service proxy instead, which works everywhere.
# - On an Apple Silicon Mac the nodes are arm64. The autoscaling image of lab 07 is amd64 only;
#   its manifest names a multi-arch replacement.
#
# **kind:** metrics-server needs the flag `--kubelet-insecure-tls` there, or the autoscaler shows `<unknown>`.

# %% [markdown]
# ## 2. Connect
#
# `ROLLOUT_LABS_CONTEXT` decides the cluster. Let's see what it says.

# %%
import os

print("ROLLOUT_LABS_CONTEXT =", os.environ.get("ROLLOUT_LABS_CONTEXT") or "(not set: the built-in sandbox)")

# %% [markdown]
# Now connect. With the sandbox, this also starts it when it is not running yet.
# `c` is the cluster every helper uses from now on.

# %%
from helpers import checks, cluster, labkit, rollout, traffic, widgets
from helpers.kubectl import kubectl

c = cluster.connect()
print("context:", c.context)
print("API server:", c.server)
print("sandbox:", c.is_sandbox)

# %% [markdown]
# The helpers run the real `kubectl`, pinned to the same context.
# Here is the client and server version. A warning about "version skew" is harmless for these labs
# as long as the versions are close.

# %%
kubectl("version")

# %% [markdown]
# A cluster needs at least one node that is `Ready`.

# %%
kubectl("get", "nodes", "-o", "wide")

# %%
checks.check_cluster()

# %% [markdown]
# ## 3. Check what later labs need
#
# The preflight check does three things:
#
# 1. It talks to the API server and to `kubectl`.
# 2. It creates and deletes a scratch namespace. Each lab works in a namespace of its own.
# 3. It asks the **metrics API** for pod CPU. Lab 07's autoscaler cannot work without it.

# %%
checks.check_preflight(metrics=True)

# %% [markdown]
# The node's CPU architecture matters for one image. Most images in these labs are multi-arch.
# `registry.k8s.io/hpa-example` (lab 07) exists for amd64 only.

# %%
arches = {n.metadata.name: n.status.node_info.architecture for n in c.core.list_node().items}
print(arches)
if any(a != "amd64" for a in arches.values()):
    print("Heads-up: lab 07's hpa-example image is amd64 only. See manifests/autoscale/php-apache.yaml "
          "for the multi-arch alternative.")

# %% [markdown]
# ## 4. A smoke test: one real app
#
# Last, we run the app of the next labs once: podinfo, a tiny web service that reports its
# version and the pod that answered. This proves that images pull, probes pass and a Service
# routes requests.
#
# Every lab gets its own namespace. This one is `lab00-preflight`.

# %%
LAB, NS = "00-start-here", "lab00-preflight"
c = labkit.start(LAB, NS)

# %% [markdown]
# `rollout.apply` does what `kubectl apply -f` does. It prints the command it stands for.

# %%
rollout.apply(labkit.manifest("podinfo"), NS)

# %% [markdown]
# The pod board below updates live. One tile is one pod. A striped tile is not ready yet.

# %%
board = widgets.PodBoard(NS, "app=podinfo")
board

# %% [markdown]
# `wait_for_rollout` prints the same lines as `kubectl rollout status`, but it gives up after a
# deadline instead of waiting forever.

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=180)

# %%
checks.check_deployment_ready(NS, "podinfo", replicas=2)

# %% [markdown]
# How does the notebook reach the Service? It tries the NodePort first. When the node is not
# reachable from here (minikube's Docker driver, a cloud cluster), it goes through the API server's
# service proxy. The next line says which one this cluster uses.

# %%
route = traffic.choose_route("podinfo", NS)
print(route.describe())
route.close()

# %%
checks.check_app_responds(NS, "podinfo")

# %% [markdown]
# ## 5. Clean up
#
# Stop the live widget, then delete the lab's namespace. Deleting a namespace deletes
# everything inside it.

# %%
labkit.stop(board, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **All green?** Then the cluster is ready. Continue with **Lab 01 · Deploy**.
#
# If a check failed, its message says what to fix. Run the lab again after fixing it.
