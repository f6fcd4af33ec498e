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
# browsers that accept them, without compressing per request. The binary finds hash.txt and
# site/ beside itself: `dist/miseos/server` works from any directory with no variable set
# (deploy/miseos.env lists the production settings).
#
# The steps are `cargo leptos build --release --precompress` with hashed names, done with
# the tools that command calls (cargo, wasm-bindgen, wasm-opt) plus esbuild for minifying and
# Node's zlib for compressing, so that neither the tests nor a container build need
# cargo-leptos itself, whose compilation was most of a new machine's setup. `cargo leptos
# watch` (scripts/run.sh) builds the same crates the same way for development.
#
#   scripts/release.sh [OUT_DIR]     (default: dist/miseos)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${1:-dist/miseos}
"$root/scripts/setup.sh"
export PATH="$root/.tools/node_modules/.bin:$PATH"

# The site's name, as [workspace.metadata.leptos] and .cargo/config.toml give it.
name=miseos
site=target/release-site
rm -rf "$site"
mkdir -p "$site/pkg"

echo "release: the browser's half (WebAssembly)"
cargo build --locked --package=frontend --lib --target=wasm32-unknown-unknown --profile=wasm-release \
  --no-default-features --target-dir=target/front
wasm-bindgen --target=web --no-typescript --out-name="$name" --out-dir="$site/pkg" \
  target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm
mv "$site/pkg/${name}_bg.wasm" "$site/pkg/$name.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$site/pkg/$name.wasm" -o "$site/pkg/$name.wasm"
esbuild --minify --log-level=warning --allow-overwrite "$site/pkg/$name.js" --outfile="$site/pkg/$name.js"
# The browsers of Leptos' `browserquery = "defaults"`, roughly: esbuild adds the prefixes they
# need (Safari's -webkit-user-select), as lightningcss did for cargo-leptos.
esbuild --minify --log-level=warning --loader:.css=css --target=chrome109,edge109,firefox115,safari15.6 \
  style/main.css --outfile="$site/pkg/$name.css"
cp -r public/. "$site/"

# Content hashes (16 hex digits of SHA-256). The wasm first: the script names it.
hash_of() { sha256sum "$1" | cut -c1-16; }
: >"$site/hash.txt"
for kind in wasm js css; do
  file="$site/pkg/$name.$kind"
  [ "$kind" = js ] && sed -i "s/${name}_bg\.wasm/$name.$wasm_hash.wasm/g" "$file"
  hash=$(hash_of "$file")
  [ "$kind" = wasm ] && wasm_hash=$hash
  mv "$file" "$site/pkg/$name.$hash.$kind"
  echo "$kind: $hash" >>"$site/hash.txt"
done

# A brotli (quality 11) and a gzip (level 9) copy beside every file of the site.
node --input-type=module - "$site" <<'EOF'
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
for (const entry of readdirSync(process.argv[2], { recursive: true, withFileTypes: true })) {
  // parentPath from Node 18.20 and 20.12 on; path before (Debian bookworm has 18.19).
  const path = join(entry.parentPath ?? entry.path, entry.name);
  if (!entry.isFile() || /\.(br|gz)$/.test(path) || entry.name === "hash.txt") continue;
  const bytes = readFileSync(path);
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  writeFileSync(`${path}.br`, brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }));
}
EOF

echo "release: the server"
cargo build --locked --package=server --bin=server --no-default-features --release

rm -rf "$out"
mkdir -p "$out"
cp target/release/server "$out/"
mv "$site/hash.txt" "$out/"
cp -r "$site" "$out/site"
echo "release: $out ($(du -sh "$out" | cut -f1)); site build output:"
ls -l "$out/site/pkg"
