#!/usr/bin/env bash
# The whole test suite, in the order a failure is cheapest to find. Runs every step, then exits
# non-zero if any failed. Called by `make test` (which installs the tools first).
set -uo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
export PATH="$PWD/$VENV/bin:$PATH"
# In the full run, a sandbox that cannot start is a failure, not a reason to skip.
export ROLLOUT_LABS_REQUIRE_SANDBOX="${ROLLOUT_LABS_REQUIRE_SANDBOX:-1}"
mkdir -p test-artifacts
failed=()

step() {  # step NAME CMD...
  local name=$1; shift
  echo
  echo "=== $name: $*"
  local start=$SECONDS
  "$@"
  local rc=$?
  echo "=== $name: exit $rc in $((SECONDS - start)) s"
  [ "$rc" -eq 0 ] || failed+=("$name (exit $rc)")
}

step lint ruff check .
step unit-sandbox-delivery python -m pytest tests -m "not browser" -p no:cacheprovider -q -rfEs

shopt -s nullglob
labs=(labs/*.ipynb)
sandbox_started=""
stop_sandbox() {
  if [ -n "$sandbox_started" ]; then
    rollout-labs sandbox stop >/dev/null 2>&1 || true
    rm -rf "$ROLLOUT_LABS_HOME"
  fi
}
trap stop_sandbox EXIT

if [ ${#labs[@]} -gt 0 ] && [ -z "${ROLLOUT_LABS_CONTEXT:-}" ]; then
  export ROLLOUT_LABS_HOME
  ROLLOUT_LABS_HOME="$(mktemp -d -t rollout-labs-test.XXXXXX)"
  echo
  echo "=== sandbox: starting one for the labs (state in $ROLLOUT_LABS_HOME)"
  if out="$(rollout-labs sandbox start 2>&1)"; then
    sandbox_started=1
    echo "$out"
    eval "$(printf '%s\n' "$out" | grep -E '^export KUBECONFIG=')"
    export ROLLOUT_LABS_CONTEXT=rollout-labs
  else
    echo "$out"
    failed+=("sandbox start")
  fi
fi

if [ ${#labs[@]} -gt 0 ]; then
  step labs-nbval python -m pytest --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider \
    -q -rfE --junitxml=test-artifacts/labs-nbval.xml labs/
  [ -f test-artifacts/labs-nbval.xml ] && python scripts/lab-times.py test-artifacts/labs-nbval.xml
else
  echo; echo "=== labs-nbval: no notebooks in labs/ yet, nothing to run"
fi

step browser python -m pytest tests/browser -m browser -p no:cacheprovider -q -rfEs \
  --junitxml=test-artifacts/browser.xml

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
echo "all test steps passed"
