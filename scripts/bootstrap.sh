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
: > "$log"
total="$(grep -cE '^[A-Za-z0-9]' requirements.txt || true)"
EVERY="${BOOTSTRAP_PROGRESS_EVERY:-25}"  # one progress line per this many packages

# pip's output goes to the log; the terminal gets a line per phase and per $EVERY packages, and a
# heartbeat every 20 s while pip installs (it says nothing for a minute or two then).
heartbeat=""
stop_heartbeat() { if [ -n "$heartbeat" ]; then kill "$heartbeat" 2>/dev/null || true; wait "$heartbeat" 2>/dev/null || true; heartbeat=""; fi; }
trap stop_heartbeat EXIT
progress() {
  local n=0 line
  while IFS= read -r line; do
    printf '%s\n' "$line" >> "$log"
    case "$line" in
      Collecting*|"Requirement already satisfied"*)
        n=$((n + 1))
        if [ $((n % EVERY)) -eq 0 ]; then echo "bootstrap: $n/$total packages resolved"; fi ;;
      "Installing collected packages"*)
        echo "bootstrap: $n/$total packages resolved; installing them (a minute or two) ..."
        ( start=$SECONDS; while sleep 20; do echo "bootstrap: ... still installing ($((SECONDS - start)) s)"; done ) &
        heartbeat=$! ;;
      "Successfully installed"*)
        stop_heartbeat
        echo "bootstrap: installed" ;;
    esac
  done
  stop_heartbeat
}
echo "bootstrap: [1/2] dependencies from requirements.txt ($total packages)"
if ! { .venv/bin/python -m pip install --progress-bar off -r requirements.txt 2>&1 | progress; } \
   || ! { echo "bootstrap: [2/2] the hub itself (editable)"; .venv/bin/python -m pip install --no-deps -e . >> "$log" 2>&1; }; then
  stop_heartbeat
  tail -n 30 "$log" >&2
  echo "bootstrap: installing the lock failed; full log in $log" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "bootstrap: .venv ready"
