#!/usr/bin/env bash
# Runs MiseOS Live for development: installs the build tools if missing, then
# `cargo leptos watch` (rebuilds and reloads the page on every change) on
# http://127.0.0.1:5001 with an embedded SQLite database and the demo users.
# Extra arguments go to cargo-leptos, e.g. `scripts/run.sh --release`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh" --dev
export PATH="$root/.tools/node_modules/.bin:$PATH"
# Development mode: the demo users are seeded and listed on the sign-in page.
export MISEOS_DEMO="${MISEOS_DEMO:-true}"
# A restart after an edit does not wait for a load balancer (see MISEOS_SHUTDOWN_GRACE_SECONDS).
export MISEOS_SHUTDOWN_GRACE_SECONDS="${MISEOS_SHUTDOWN_GRACE_SECONDS:-0}"
exec cargo leptos watch "$@"
