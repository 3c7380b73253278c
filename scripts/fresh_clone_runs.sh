#!/usr/bin/env bash
# The README's test command on fresh clones of one commit: three runs in a row, then two at once
# (the load that found our flakes). Prints each run's exit code, wall time (venv + locked install
# + suite) and pytest's last line; logs in /tmp/fresh-<name>.log. Takes ~45 min on 2 cores.
# Usage: scripts/fresh_clone_runs.sh [commit]   (default: HEAD of this checkout)
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$repo" rev-parse "${1:-HEAD}")
echo "commit $commit"
run() {  # name
  local dir=/tmp/fresh-$1
  rm -rf "$dir" && git clone -q "$repo" "$dir" && git -C "$dir" checkout -q "$commit"
  local start rc
  start=$(date +%s)
  (cd "$dir" && python3 -m venv .venv && .venv/bin/pip install -q -r requirements/test.txt \
    && .venv/bin/pip install -q --no-deps --no-build-isolation -e . \
    && .venv/bin/python -m pytest) >"$dir.log" 2>&1
  rc=$?
  echo "$1 rc=$rc wall=$(($(date +%s) - start))s $(tail -n1 "$dir.log")"
}
for i in 1 2 3; do run "alone$i"; done
run together1 & run together2 & wait
