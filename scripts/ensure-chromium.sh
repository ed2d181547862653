#!/usr/bin/env bash
# The console's browser tests drive Debian's Chromium through playwright-core (a test tool's own browser
# download does not work offline). Install it from Debian's packages when /usr/bin/chromium is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is required for the browser tests (test/browser); install it at /usr/bin/chromium and re-run." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
