#!/usr/bin/env bash
# Make a Chromium that Playwright can drive available for the browser test.
#   Debian: Debian's chromium package via apt (root or sudo).
#   Elsewhere (Ubuntu's chromium is a snap stub; macOS): Playwright's own Chromium build.
# Exit 0 when a browser is ready, 2 when none could be installed (the browser test then skips
# with a loud message). Usage: scripts/install-browser.sh [path/to/python]
set -uo pipefail

PY="${1:-python3}"

have_chromium() {
  local c
  for c in "${ROLLOUT_LABS_CHROMIUM:-}" /usr/bin/chromium "$(command -v chromium 2>/dev/null || true)"; do
    [ -n "$c" ] && [ -x "$c" ] && ! readlink -f "$c" | grep -q '/snap/' && return 0
  done
  return 1
}

if have_chromium; then
  echo "install-browser: chromium already present"
  exit 0
fi

if [ -r /etc/os-release ] && . /etc/os-release && [ "${ID:-}" = debian ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=""; fi
  fi
  if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then
    echo "install-browser: installing Debian's chromium with apt-get (about 30 s)"
    export DEBIAN_FRONTEND=noninteractive
    if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; then
      have_chromium && exit 0
    fi
    echo "install-browser: apt-get install chromium failed" >&2
  else
    echo "install-browser: not root and no password-less sudo; cannot apt-get install chromium" >&2
  fi
fi

# Not Debian, or apt failed: Playwright's own build (needs network access to its CDN).
if "$PY" -m playwright install --with-deps chromium >/dev/null 2>&1 \
   || "$PY" -m playwright install chromium >/dev/null 2>&1; then
  echo "install-browser: installed Playwright's chromium"
  exit 0
fi

cat >&2 <<'MSG'
########################################################################
#  NO CHROMIUM: the real-browser test of the notebooks will be SKIPPED. #
#  Fix: install chromium (Debian: apt-get install chromium) or run     #
#  `.venv/bin/python -m playwright install --with-deps chromium`.      #
########################################################################
MSG
exit 2
