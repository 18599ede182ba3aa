#!/usr/bin/env bash
# Installs what the dashboard's browser tests need, once: Debian's Chromium and Firefox ESR (the
# tests drive /usr/bin/chromium and /usr/bin/firefox-esr; a test tool's own browser download
# does not work on these machines), playwright-core and puppeteer-core from package-lock.json.
# Run by .ci/run and by tests/dashboard_browser.rs.
set -euo pipefail
cd "$(dirname "$0")"

packages=()
if [ ! -x /usr/bin/chromium ]; then
  packages+=(chromium)
fi
if [ ! -x /usr/bin/firefox-esr ]; then
  packages+=(firefox-esr)
fi
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo > /dev/null; then
    sudo="sudo"
  else
    echo "tests/browser/install.sh: missing Debian's ${packages[*]}, and this user cannot" \
      "install packages; install them (apt-get install ${packages[*]}) and run again" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" fonts-dejavu-core > /dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/playwright-core/package.json ] \
  || [ ! -f node_modules/puppeteer-core/package.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
