#!/usr/bin/env bash
# Re-resolve every lock in requirements/ from pyproject.toml (the one command that upgrades them).
# Needs uv (`pip install uv`); resolves for every platform (--universal) at Python 3.11, with
# hashes, so `pip install -r requirements/X.txt` verifies every file it downloads.
# Pass --upgrade to move every pin to the newest release pyproject allows; without it, existing
# pins are kept where they still satisfy pyproject (add a dependency, run this, commit).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
compile() {  # out, extras...
  local out=$1; shift
  local extras=()
  for e in "$@"; do extras+=(--extra "$e"); done
  "$uv" pip compile pyproject.toml requirements/build.in "${extras[@]}" \
    --universal --python-version 3.11 --generate-hashes --quiet \
    --custom-compile-command "scripts/lock.sh" -o "requirements/$out" "${LOCK_ARGS[@]}"
}
LOCK_ARGS=("$@")
compile run.txt
compile scaletest.txt scaletest
compile captions.txt captions
compile test.txt test scaletest captions
