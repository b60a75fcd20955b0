#!/usr/bin/env bash
# What the test suite needs beyond the lock file, installed idempotently (no-op when present):
#  - Debian's chromium and chromium-driver for the Airflow UI browser test (tests/ops).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in chromium chromium-driver; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    echo "install_test_deps: installing ${missing[*]} (browser test)" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
