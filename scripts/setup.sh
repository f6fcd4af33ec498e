#!/usr/bin/env bash
# Installs what building and testing MiseOS Live need, skipping whatever is already present
# in the right version. Everything comes from the package registries (crates.io, npm, Debian):
# cargo-leptos' own downloads from GitHub do not work on these machines.
#
#   scripts/setup.sh           build tools: wasm target, cargo-leptos, wasm-bindgen, wasm-opt
#   scripts/setup.sh --test    also cargo-deny, Chromium, the Playwright packages, and a running PostgreSQL
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cargo_leptos_version=0.3.10
binaryen_version=132.0.0
cargo_deny_version=0.20.2
want_test_tools=false
[ "${1:-}" = "--test" ] && want_test_tools=true

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$cargo_leptos_version" ]; then
  say "installing cargo-leptos $cargo_leptos_version (about 10 minutes on 2 cores, once)"
  cargo install cargo-leptos --version "$cargo_leptos_version" --locked
fi

# The CLI must match the wasm-bindgen library in Cargo.lock exactly. No --locked: its own
# lockfile names a webpki-roots release the registry here does not have.
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version"
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

# wasm-opt (release builds) ships in the npm package binaryen; kept in .tools/.
if [ ! -x .tools/node_modules/.bin/wasm-opt ] || [ "$(node -p "require('./.tools/node_modules/binaryen/package.json').version" 2>/dev/null)" != "$binaryen_version" ]; then
  say "installing wasm-opt (npm binaryen@$binaryen_version)"
  npm install --silent --no-audit --no-fund --prefix .tools "binaryen@$binaryen_version"
fi

if $want_test_tools; then
  # The licence, ban and source gate of scripts/test.sh.
  if [ "$(cargo deny --version 2>/dev/null | awk '{print $2}')" != "$cargo_deny_version" ]; then
    say "installing cargo-deny $cargo_deny_version"
    cargo install cargo-deny --version "$cargo_deny_version" --locked
  fi
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's Chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing the end-to-end test packages"
    (cd end2end && npm ci --silent --no-audit --no-fund)
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    say "starting PostgreSQL"
    if ! pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start; then
      echo "setup: PostgreSQL is required by the tests and could not be started" >&2
      exit 1
    fi
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432
  fi
fi
