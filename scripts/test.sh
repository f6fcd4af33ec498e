#!/usr/bin/env bash
# Runs every test of MiseOS Live: Rust unit and integration tests (the server on port 0,
# against fresh SQLite and PostgreSQL databases), then the production build
# (scripts/release.sh: the server and the WebAssembly, hashed and precompressed, into
# dist/miseos), schemathesis against that server's OpenAPI document, and the Playwright tests
# in Chromium against that directory (the socket frames checked against docs/asyncapi.yaml,
# and the HTTPS deployment through Caddy among them).
# Installs whatever is missing first (scripts/setup.sh --test), so it works on a new machine.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Each phase says how long the one before it took, so a slow run shows where its time went.
phase_name="" phase_started=$SECONDS
phase() {
  [ -n "$phase_name" ] && echo "   ($phase_name: $((SECONDS - phase_started)) s; $((SECONDS / 60)) min in all)"
  phase_name=$1 phase_started=$SECONDS
  [ -n "$phase_name" ] && echo "== $phase_name"
  return 0
}

phase "Setup: the tools, if any is missing"
"$root/scripts/setup.sh" --test
export PATH="$root/.tools/node_modules/.bin:$PATH"

phase "Gates: formatting, lints as errors (server side, then the browser build), licences and sources"
cargo fmt --all --check
cargo clippy --locked -p app -p server -p bench --all-targets -- -D warnings
cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings
# cargo-deny reads offline every crate of Cargo.lock, for every platform (windows-sys too):
# a new machine has only what its own builds downloaded.
cargo fetch --locked
cargo deny --offline check licenses bans sources

phase "Rust: unit and integration tests (SQLite and PostgreSQL); the bench tools compile"
cargo test --locked -p app -p server -p bench

phase "Build the release (server + WebAssembly, hashed and precompressed), exactly as production does"
"$root/scripts/release.sh" dist/miseos

phase "Outside checks: schemathesis against the release's /api/openapi.json, as a head chef and as a cook"
"$root/scripts/outside-checks.sh" --binary dist/miseos/server

phase "Browser: Playwright in Chromium, against the release directory"
export MISEOS_E2E_RELEASE_DIR=dist/miseos
cd end2end
status=0
PLAYWRIGHT_JSON_OUTPUT_NAME=test-results/results.json npx playwright test --reporter=list,json || status=$?
# One plain closing line that any CI reads: "N passed, N failed".
node -e '
  const stats = require("./test-results/results.json").stats;
  console.log(`end-to-end: ${stats.expected} passed, ${stats.unexpected + stats.flaky} failed`);
' || true
phase ""
exit "$status"
