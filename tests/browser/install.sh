#!/usr/bin/env bash
# Installs what the dashboard's browser tests need, once: Debian's Chromium (the tests drive
# /usr/bin/chromium; a test tool's own browser download does not work on these machines) and
# playwright-core from package-lock.json. Run by .ci/run and by tests/dashboard_browser.rs.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo > /dev/null; then
    sudo="sudo"
  else
    echo "tests/browser/install.sh: Chromium is missing and this user cannot install it;" \
      "install Debian's chromium package (apt-get install chromium) and run again" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core > /dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/playwright-core/package.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
