#!/usr/bin/env bash
# Runs the benchmarks of docs/PERFORMANCE.md on this machine: a release build of the server
# (default SQLite store, fresh data directory) and of the bare floor, each driven by the
# load generator over loopback. Prints every figure; stops what it started.
#
#   scripts/bench.sh            all scenarios
#   scripts/bench.sh idle       one of: idle broadcast-slow broadcast-fast broadcast-1k saturation kitchens writes direct push webhooks reconnect snapshot scale-out foreign site
# (scale-out and foreign need the local PostgreSQL, as the tests do; site needs Chromium and end2end's packages)
# The server logs at `warn` (MISEOS_BENCH_LOG=info measures the production default, with its
# request and socket spans). MISEOS_BENCH_BIN=/some/dir measures the server, loadgen and floor
# found there instead (an older commit's release build, for a before/after; nothing is built).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# The server alone first, so target/release/server is built with its own (production)
# features; then the tools of bench/, whose client features do not reach that binary.
bin="${MISEOS_BENCH_BIN:-target/release}"
if [ -z "${MISEOS_BENCH_BIN:-}" ]; then
  cargo build --release --locked -p server
  cargo build --release --locked -p bench
fi

export MISEOS_JWT_SECRET=bench-secret-that-is-long-enough-0123456789
# The demo users are the benchmark's head chef and cook; the load generator starts their
# sessions in the server's database (DATABASE_URL) and signs their tokens.
export MISEOS_DEMO=true
# Scenarios restart the server often; they measure no load balancer.
export MISEOS_SHUTDOWN_GRACE_SECONDS=0
# One head chef holds thousands of sockets (more than the default connection ceiling) and one
# cook posts hundreds of items a minute: the limits of section 8 are lifted.
export MISEOS_MAX_CONNECTIONS=0 MISEOS_MAX_CONNECTIONS_PER_ADDRESS=0 MISEOS_MAX_SOCKETS_PER_USER=0 MISEOS_MAX_SOCKET_OPENS_PER_MINUTE=0 MISEOS_MAX_NEW_ITEMS_PER_MINUTE=0 MISEOS_MAX_PENDING_PER_USER=0
# The push scenario's push service runs in the load generator, on loopback.
push_service=127.0.0.1:7101
export MISEOS_PUSH_EXTRA_ORIGINS="http://$push_service"
# The webhooks scenario's receiver runs in the load generator, on loopback.
webhook_receiver=127.0.0.1:7102
export MISEOS_WEBHOOK_EXTRA_ORIGINS="http://$webhook_receiver"
data=$(mktemp -d /tmp/miseos-bench.XXXXXX)
export DATABASE_URL="sqlite://$data/miseos.db?mode=rwc"
server_port=5101
floor_ws=127.0.0.1:7001
floor_trigger=127.0.0.1:7002
server_pid=""
floor_pid=""

start_server() {
  MISEOS_DATA_DIR="$data" PORT=$server_port RUST_LOG="${MISEOS_BENCH_LOG:-warn}" LEPTOS_OUTPUT_NAME=miseos LEPTOS_SITE_ROOT=target/site \
    LEPTOS_SITE_PKG_DIR=pkg "$bin/server" >>"$data/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$server_port/healthz" >/dev/null && return; sleep 0.05; done
  echo "the server did not start" >&2; exit 1
}
stop_server() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi; server_pid=""; }
start_floor() {
  "$bin/floor" --ws $floor_ws --trigger $floor_trigger "$@" >>"$data/floor.log" 2>&1 &
  floor_pid=$!
  sleep 0.3
}
stop_floor() { if [ -n "$floor_pid" ]; then kill "$floor_pid" 2>/dev/null || true; wait "$floor_pid" 2>/dev/null || true; fi; floor_pid=""; }
cleanup() { stop_server; stop_floor; rm -rf "$data"; }
trap cleanup EXIT

loadgen() { "$bin/loadgen" --server "127.0.0.1:$server_port" --server-pid "$server_pid" "$@"; }
# Runs the load generator with the arguments after the first two in the background; once it
# prints a line starting with $2 (its load has begun), measures 10,000 admins of the demo
# kitchen at 2 creates/s meanwhile; then prints its output, headed "the $1".
with_fan_out_meanwhile() {
  local what=$1 started=$2
  shift 2
  loadgen "$@" > "$data/meanwhile.txt" &
  local generator=$!
  for _ in $(seq 1 1200); do grep -q "^$started" "$data/meanwhile.txt" && break; sleep 0.1; done
  sleep 2
  echo "-- 10,000 admins of the demo kitchen, 2 creates/s, while the $what flow:"
  loadgen --scenario broadcast --admins 10000 --rate 2 --events 20 --posters 1
  wait "$generator"
  echo "-- the $what:"
  cat "$data/meanwhile.txt"
}
floorgen() { "$bin/loadgen" --server $floor_ws --floor-trigger $floor_trigger --server-pid "$floor_pid" "$@"; }

run() {
  # Every scenario starts from an empty database (the demo users only).
  rm -f "$data"/miseos.db*
  case "$1" in
    idle)
      echo "== RSS per idle session, 19,000 sessions (fresh processes)"
      start_server; loadgen --scenario idle --admins 19000 --seconds 3; stop_server
      start_floor; floorgen --scenario idle --admins 19000 --seconds 3; stop_floor ;;
    broadcast-slow)
      echo "== 10,000 admins, 2 creates/s"
      start_server; loadgen --scenario broadcast --admins 10000 --rate 2 --events 20 --posters 1; stop_server
      start_floor; floorgen --scenario broadcast --admins 10000 --rate 2 --events 20 --posters 1; stop_floor ;;
    broadcast-fast)
      echo "== 10,000 admins, creates as fast as 4 posters go (the floor is paced at the rate the server reached)"
      start_server; loadgen --scenario broadcast --admins 10000 --rate 0 --events 150 --posters 4 | tee "$data/fast.txt"; stop_server
      rate=$(awk '/^events:/ { gsub(/[(\/s);]/, "", $6); print int($6) }' "$data/fast.txt")
      start_floor; floorgen --scenario broadcast --admins 10000 --rate "${rate:-27}" --events 150 --posters 1; stop_floor ;;
    broadcast-1k)
      echo "== 1,000 admins, 20 creates/s"
      start_server; loadgen --scenario broadcast --admins 1000 --rate 20 --events 200 --posters 2; stop_server
      start_floor; floorgen --scenario broadcast --admins 1000 --rate 20 --events 200 --posters 1; stop_floor ;;
    saturation)
      echo "== 10,000 admins of one kitchen, creates as fast as they are answered, against the bare floor flat out"
      start_server; loadgen --scenario broadcast --admins 10000 --rate 0 --events 400 --posters 4; stop_server
      # The floor gets the 400 triggers at once: its queue holds the whole burst (800 frames),
      # or it would drop every session as a laggard.
      start_floor --queue 1024; floorgen --scenario broadcast --admins 10000 --rate 0 --events 400 --posters 1; stop_floor ;;
    kitchens)
      echo "== 1,000 kitchens of 10 admins each (10,000 sessions), 100 creates/s spread over them; then one kitchen of 10 admins alike"
      start_server
      loadgen --scenario broadcast --kitchens 1000 --admins 10000 --rate 100 --events 2000 --posters 4
      loadgen --scenario broadcast --kitchens 1 --admins 10 --rate 100 --events 2000 --posters 4
      stop_server ;;
    writes)
      echo "== creates per second, 8 writers and no sessions: one kitchen, then 100 kitchens; SQLite, then PostgreSQL"
      start_server
      for kitchens in 1 100; do loadgen --scenario broadcast --kitchens $kitchens --admins 0 --rate 0 --events 6000 --posters 8 | grep -E "^(sessions|events|server)"; done
      stop_server
      database="miseos_bench_writes_$$"
      psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $database"
      DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database" start_server
      for kitchens in 1 100; do
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database" \
          loadgen --scenario broadcast --kitchens $kitchens --admins 0 --rate 0 --events 6000 --posters 8 | grep -E "^(sessions|events|server)"
      done
      stop_server
      psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $database WITH (FORCE)" ;;
    direct)
      echo "== 10,000 staff sessions, 500 reviews/s"
      start_server; loadgen --scenario direct --staff 10000 --rate 500 --events 5000 --posters 4; stop_server ;;
    push)
      echo "== Web Push: 10,000 cooks, 200 decisions/s; without subscriptions, then each pushed while 10,000 admins get 2 creates/s"
      start_server; loadgen --scenario push --staff 10000 --rate 200 --events 6000 --posters 4; stop_server
      rm -f "$data"/miseos.db*
      start_server
      with_fan_out_meanwhile pushes reviewing \
        --scenario push --staff 10000 --rate 200 --events 6000 --posters 4 --push-service "$push_service"
      stop_server ;;
    webhooks)
      echo "== Webhooks: 100 kitchens with one webhook each, 200 creates/s over them, while 10,000 admins of the demo kitchen get 2 creates/s"
      start_server
      with_fan_out_meanwhile deliveries creating \
        --scenario webhooks --kitchens 100 --rate 200 --events 6000 --posters 4 --webhook-receiver "$webhook_receiver"
      stop_server ;;
    reconnect)
      echo "== 10,000 sessions reconnecting after a restart (app backoff, full jitter)"
      start_server
      "$bin/loadgen" --server "127.0.0.1:$server_port" --scenario reconnect --admins 10000 > "$data/reconnect.txt" &
      generator=$!
      sleep 5
      stop_server; start_server
      wait "$generator"
      grep -E "^all" "$data/reconnect.txt"
      stop_server ;;
    snapshot)
      echo "== snapshot reads at 1,000 and 1,000,000 historical items"
      start_server
      for items in 1000 1000000; do
        python3 - "$data/miseos.db" "$items" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
have = db.execute("select count(*) from ingredient_requests").fetchone()[0]
rows = ((f"history-{i}", 1.0, "kg", None, "APPROVED", 3, 1700000000000, 1, 1700000000000, None, 1) for i in range(int(sys.argv[2]) - have))
db.executemany("insert into ingredient_requests (item_name, quantity, unit, note, status, requested_by, created_at, reviewed_by, reviewed_at, review_note, kitchen_id) values (?,?,?,?,?,?,?,?,?,?,?)", rows)
db.commit()
print("historical items:", db.execute("select count(*) from ingredient_requests").fetchone()[0])
PY
        loadgen --scenario snapshot --posters 8 --seconds 5
      done
      stop_server ;;
    scale-out)
      echo "== three processes on one PostgreSQL holding 50,000 sessions, against one process"
      database="miseos_bench_$$"
      psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $database"
      pids=()
      export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
      for port in 5201 5202 5203; do
        MISEOS_DATA_DIR="$data" PORT=$port RUST_LOG=warn \
          LEPTOS_OUTPUT_NAME=miseos LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg "$bin/server" >>"$data/pg.log" 2>&1 &
        pids+=($!)
        for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
      done
      "$bin/loadgen" --scenario broadcast --server 127.0.0.1:5201 --also-servers 127.0.0.1:5202,127.0.0.1:5203 \
        --admins 50000 --clients 3 --rate 2 --events 20 --posters 1 --server-pid "${pids[0]}" --also-server-pids "${pids[1]},${pids[2]}"
      kill "${pids[1]}" "${pids[2]}"; wait "${pids[1]}" "${pids[2]}" || true
      "$bin/loadgen" --scenario broadcast --server 127.0.0.1:5201 --admins 19000 --rate 2 --events 20 --posters 1 --server-pid "${pids[0]}"
      kill "${pids[0]}"; wait "${pids[0]}" || true
      psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $database WITH (FORCE)" ;;
    foreign)
      echo "== CPU per event of a process with no socket of the kitchens written (PostgreSQL, two processes; 8 writers through the first)"
      database="miseos_bench_foreign_$$"
      psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $database"
      export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
      start_server
      other_port=5212
      MISEOS_DATA_DIR="$data" PORT=$other_port RUST_LOG=warn "$bin/server" >>"$data/other.log" 2>&1 &
      other_pid=$!
      for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$other_port/readyz" >/dev/null && break; sleep 0.05; done
      # CPU seconds (user + system) of a process, and a counter of the other process's metrics.
      cpu_seconds() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
      heard() { curl -sf "http://127.0.0.1:$other_port/metrics" | awk '$1 == "miseos_bus_notifications_received_total" { print $2 }'; }
      for kitchens in 1 100; do
        cpu_before=$(cpu_seconds "$other_pid") heard_before=$(heard)
        loadgen --scenario broadcast --kitchens $kitchens --admins 0 --rate 0 --events 6000 --posters 8 | grep -E "^events"
        sleep 2
        cpu_after=$(cpu_seconds "$other_pid") heard_after=$(heard)
        awk -v k=$kitchens -v cpu="$(echo "$cpu_after - $cpu_before" | bc)" -v n="$(echo "$heard_after - $heard_before" | bc)" \
          'BEGIN { printf "other process, %d kitchens: %d notifications, %.2f s CPU, %.1f µs per notification\n", k, n, cpu, n ? cpu * 1e6 / n : 0 }'
      done
      kill "$other_pid"; wait "$other_pid" 2>/dev/null || true
      stop_server
      psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $database WITH (FORCE)" ;;
    site)
      echo "== the release site: sizes, and time to a live dashboard in Chromium (CPU 4x slower), plain and precompressed"
      [ -x dist/miseos/server ] || scripts/release.sh dist/miseos >/dev/null
      for file in dist/miseos/site/pkg/*.wasm dist/miseos/site/pkg/*.js dist/miseos/site/pkg/*.css; do
        printf '%-48s raw %8d  gzip %8d  brotli %8d bytes\n' "${file##*/}" \
          "$(stat -c %s "$file")" "$(stat -c %s "$file.gz")" "$(stat -c %s "$file.br")"
      done
      plain="$data/plain"
      cp -r dist/miseos "$plain"
      find "$plain/site" \( -name '*.br' -o -name '*.gz' \) -delete
      for variant in "plain:$plain" "precompressed:$root/dist/miseos"; do
        (cd end2end && MISEOS_E2E_RELEASE_DIR="${variant#*:}" MISEOS_MEASURE_LABEL="${variant%%:*}" \
          npx playwright test -c measure.config.ts --reporter=line 2>&1 | grep time-to-live)
      done ;;
    *) echo "unknown scenario $1" >&2; exit 2 ;;
  esac
}

if [ $# -gt 0 ]; then
  run "$1"
else
  for scenario in idle broadcast-slow broadcast-fast broadcast-1k saturation kitchens writes direct reconnect snapshot scale-out site; do run "$scenario"; done
fi
