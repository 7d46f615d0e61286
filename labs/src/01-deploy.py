# %% [markdown]
# # Lab 01 · Deploy an app
#
# In this lab you run a small web app on Kubernetes and call it.
# You will meet the three objects every later lab uses: a **Namespace**, a **Deployment** and a **Service**.
#
# **Learning goals**
#
# - Create a namespace and deploy an app into it with two replicas.
# - Watch pods start, and read `kubectl get` and `kubectl describe`.
# - Expose the pods with a NodePort Service and call the app through it.
#
# The app is **podinfo**, a tiny Go web service. It answers with JSON that names its version
# and the pod that served the request. That makes it easy to see who answered.

# %% [markdown]
# ## 1. A namespace of your own
#
# A namespace is a folder for Kubernetes objects. This lab uses `hello-microservices`.
#
# In a terminal you would type:
#
# ```bash
# kubectl create namespace hello-microservices
# kubectl label namespace hello-microservices rollout-labs.io/lab=01-deploy
# ```
#
# The helper below does both. The label tells the helpers that this namespace belongs to a lab,
# so they are allowed to change it. If the namespace is left over from an earlier run, it is
# deleted and created again, so you start clean.

# %%
from helpers import checks, cluster, labkit, rollout, traffic, widgets
from helpers.kubectl import kubectl

LAB, NS = "01-deploy", "hello-microservices"
c = labkit.start(LAB, NS)

# %%
kubectl("get", "namespace", NS, "--show-labels")

# %%
checks.check_namespace(NS)

# %% [markdown]
# ## 2. Read the Deployment
#
# A Deployment says: "keep this many copies of this pod running".
# Here is the file. The important lines:
#
# - `replicas: 2` asks for two pods.
# - `selector` and the template's `labels` tie the pods to the Deployment (`app: podinfo`).
# - `image` is the container image, podinfo version 6.7.0.
# - `readinessProbe` tells Kubernetes when a pod may receive traffic. `livenessProbe` tells it when to restart one.
# - `resources.requests` reserves CPU and memory on a node for each pod.
#
# Later labs explain `strategy` and `preStop`.

# %%
print(open(labkit.manifest("podinfo", "deployment.yaml")).read())

# %% [markdown]
# ## 3. Apply it
#
# `kubectl apply -f` sends the file to the cluster. The cluster then works towards what it says.

# %%
kubectl("apply", "-f", labkit.manifest("podinfo", "deployment.yaml"), "-n", NS)

# %% [markdown]
# In a terminal, `kubectl get pods -w` would print a line every time a pod changes.
# The pod board shows the same stream as tiles. Striped means "not ready yet", solid means ready.

# %%
board = widgets.PodBoard(NS, "app=podinfo", title="hello-microservices")
board

# %% [markdown]
# Wait until both pods are ready. This prints what `kubectl rollout status` prints,
# and stops with a clear error after the deadline.

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=180)

# %%
kubectl("get", "pods", "-n", NS, "-o", "wide")

# %%
kubectl("get", "deployment", "-n", NS)

# %% [markdown]
# `READY 2/2` means two pods are ready out of two wanted. `AVAILABLE` counts pods that
# have been ready long enough to count as available.

# %%
checks.check_deployment_ready(NS, "podinfo", replicas=2)

# %% [markdown]
# ## 4. Look closer at one pod
#
# `kubectl describe` prints everything about an object, with its recent events at the end.
# Look for the image, the probes, the node, and the `Events` table at the bottom.

# %%
first_pod = labkit.serving_pods(NS, "app=podinfo")[0]["metadata"]["name"]
kubectl("describe", "pod", first_pod, "-n", NS)

# %% [markdown]
# ## 5. Expose the app with a Service
#
# Pods come and go, and each new pod gets a new IP address.
# A **Service** gives them one stable name and address, and spreads requests over the ready pods.
#
# Type `NodePort` also opens a port (30000–32767) on every node, so you can reach the app from outside the cluster.
#
# This time we apply with the Python helper. It prints the `kubectl` command it stands for.

# %%
print(open(labkit.manifest("podinfo", "service.yaml")).read())

# %%
rollout.apply(labkit.manifest("podinfo", "service.yaml"), NS)

# %%
kubectl("get", "service", "podinfo", "-n", NS)

# %% [markdown]
# `PORT(S)` shows `80:3xxxx/TCP`: port 80 inside the cluster, and the node port after the colon.

# %%
checks.check_service(NS, "podinfo", type="NodePort", min_endpoints=2)

# %% [markdown]
# ## 6. Call the app
#
# On minikube you would get a URL with:
#
# ```bash
# minikube service podinfo -n hello-microservices --url
# curl <that URL>
# ```
#
# One way works on every cluster: the API server can forward a request to a Service.
# `kubectl get --raw` sends such a request.

# %%
kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/services/podinfo:80/proxy/")

# %% [markdown]
# The answer is podinfo's JSON. `hostname` is the pod that answered, `version` is the app version.
#
# Now send ten requests and count who answered. The Service spreads them over both pods.

# %%
from collections import Counter

answers = [traffic.fetch_once("podinfo", NS) for _ in range(10)]
Counter(a.hostname for a in answers if a.ok)

# %%
checks.check_app_responds(NS, "podinfo", version="6.7.0")

# %% [markdown]
# ## 7. Clean up
#
# Stop the pod board, then delete the namespace with everything in it.
# In a terminal: `kubectl delete namespace hello-microservices`.

# %%
labkit.stop(board, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **Recap**
#
# - A Deployment keeps a number of identical pods running.
# - A Service gives those pods one address and sends requests only to ready pods.
# - `kubectl apply`, `get`, `describe` and `rollout status` are the everyday commands.
#
# Next: **Lab 02 · Self-healing**. What happens when a pod dies?
