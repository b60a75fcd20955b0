#!/usr/bin/env bash
# Create .venv from the lock file (once; again only when requirements.txt or pyproject.toml change).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON="$candidate"; break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "bootstrap: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

stamp=".venv/.crmhub-installed"
want="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "bootstrap: creating .venv with $("$PYTHON" --version) from requirements.txt (first run takes a few minutes)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
log=.venv/bootstrap.log
if ! { true \
       && .venv/bin/python -m pip install -r requirements.txt \
       && .venv/bin/python -m pip install --no-deps -e .; } > "$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "bootstrap: installing the lock failed; full log in $log" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "bootstrap: .venv ready"
