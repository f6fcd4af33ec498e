#!/usr/bin/env bash
# Builds what production runs, into one directory:
#
#   dist/miseos/server     the binary (REST API, WebSocket hub, pages)
#   dist/miseos/hash.txt   the content hashes of the site's build output (read by the binary)
#   dist/miseos/site/      the site: /pkg/miseos.<hash>.{js,wasm,css} with .br and .gz beside
#                          each file, and the files of public/
#
# Content-hashed names let browsers keep the build output for a year (`Cache-Control:
# immutable`); the precompressed copies are served with `Content-Encoding: br` or `gzip` to
# browsers that accept them, without compressing per request. Run the binary from
# dist/miseos (or set LEPTOS_SITE_ROOT) with the environment of deploy/miseos.env.
#
#   scripts/release.sh [OUT_DIR]     (default: dist/miseos)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${1:-dist/miseos}
"$root/scripts/setup.sh"
export PATH="$root/.tools/node_modules/.bin:$PATH"

LEPTOS_HASH_FILES=true cargo leptos build --release --precompress

rm -rf "$out"
mkdir -p "$out"
cp target/release/server target/release/hash.txt "$out/"
cp -r target/site "$out/site"
echo "release: $out ($(du -sh "$out" | cut -f1)); site build output:"
ls -l "$out/site/pkg"
