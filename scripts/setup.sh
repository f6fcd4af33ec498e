#!/usr/bin/env bash
# Installs what building and testing MiseOS Live need, skipping whatever is already present
# in the right version. Everything comes from the package registries (crates.io, npm, Debian):
# cargo-leptos' own downloads from GitHub do not work on these machines.
#
#   scripts/setup.sh           the release's tools (scripts/release.sh): wasm target, wasm-bindgen,
#                              wasm-opt, esbuild
#   scripts/setup.sh --dev     also cargo-leptos, for `cargo leptos watch` (scripts/run.sh)
#   scripts/setup.sh --test    also cargo-deny, Chromium, the Playwright packages, and a running PostgreSQL
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cargo_leptos_version=0.3.10
binaryen_version=132.0.0
cargo_deny_version=0.20.2
esbuild_version=0.28.2
want_test_tools=false want_dev_tools=false
[ "${1:-}" = "--test" ] && want_test_tools=true
[ "${1:-}" = "--dev" ] && want_dev_tools=true

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# Installs the Debian packages named that are not installed yet (one apt run for all of them).
apt_updated=false
need_debian_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian's ${missing[*]}"
  if ! $apt_updated; then apt-get update -qq; apt_updated=true; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The tools are built for speed of building, not of running: their release profiles ask for fat
# LTO and one codegen unit (cargo-leptos alone took 13 minutes on 2 cores), which buys nothing
# for programs that spend their time waiting on cargo. One target directory serves every
# install, so the crates they share are compiled once; OpenSSL comes from Debian's libssl
# instead of being compiled from C by cargo-leptos' vendored copy. cargo-leptos (swc,
# lightningcss, cargo-generate with libgit2) is installed only for development: the release and
# the tests build without it (scripts/release.sh).
install_tool() {
  CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_DEBUG=false \
  CARGO_PROFILE_RELEASE_STRIP=true \
  OPENSSL_NO_VENDOR=1 \
  CARGO_TARGET_DIR="$root/target/tools" \
    cargo install --quiet "$@"
}

if $want_dev_tools && [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$cargo_leptos_version" ]; then
  need_debian_packages libssl-dev pkg-config
  say "installing cargo-leptos $cargo_leptos_version (a few minutes on 2 cores, once)"
  install_tool cargo-leptos --version "$cargo_leptos_version" --locked
fi

# The CLI must match the wasm-bindgen library in Cargo.lock exactly. No --locked: its own
# lockfile names a webpki-roots release the registry here does not have.
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version"
  # Without its default rustls feature: the CLI only downloads in its test runner, never here.
  install_tool wasm-bindgen-cli --version "$wasm_bindgen_version" --no-default-features
fi

# wasm-opt ships in the npm package binaryen, and esbuild (which minifies the release's script
# and stylesheet) in its own, each a prebuilt binary; kept in .tools/.
npm_version() { node -p "require('./.tools/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(npm_version binaryen)" != "$binaryen_version" ] || [ "$(npm_version esbuild)" != "$esbuild_version" ]; then
  say "installing wasm-opt and esbuild (npm binaryen@$binaryen_version, esbuild@$esbuild_version)"
  npm install --silent --no-audit --no-fund --prefix .tools "binaryen@$binaryen_version" "esbuild@$esbuild_version"
fi

if $want_test_tools; then
  # The push tests check the server's Web Push against independent implementations built on
  # the system's OpenSSL (the ece and openssl crates).
  need_debian_packages libssl-dev pkg-config
  # The licence, ban and source gate of scripts/test.sh.
  # Without its default TLS (rustls and ring, compiled from C): the gate runs offline.
  if [ "$(cargo deny --version 2>/dev/null | awk '{print $2}')" != "$cargo_deny_version" ]; then
    say "installing cargo-deny $cargo_deny_version"
    install_tool cargo-deny --version "$cargo_deny_version" --locked --no-default-features
  fi
  # Caddy: the deployment test runs deploy/Caddyfile in front of two servers.
  # Chromium for Playwright; Caddy for the HTTPS deployment test; curl and iproute2 for the
  # outside checks (a server in a network namespace of its own, driven over loopback).
  need_debian_packages chromium caddy curl iproute2
  # Schemathesis, the outside check of the REST API (scripts/outside-checks.sh), at the
  # versions pinned, in .tools/venv.
  requirements=scripts/outside-checks-requirements.txt
  if ! cmp -s "$requirements" .tools/venv/.outside-checks-requirements; then
    say "installing schemathesis into .tools/venv ($requirements)"
    [ -x .tools/venv/bin/python ] || python3 -m venv .tools/venv
    .tools/venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" .tools/venv/.outside-checks-requirements
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
