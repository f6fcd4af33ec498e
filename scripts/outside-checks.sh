#!/usr/bin/env bash
# Outside checks of the REST API (issue 27): Schemathesis, a fuzzer nobody here wrote, reads
# GET /api/openapi.json and sends what it generates from it, once with a head chef's token and
# once with a line cook's. Every answer must be no 5xx, a status the document lists for the
# operation, its content type and headers, and a body matching its schema. Exits non-zero on
# any failure; the reports (JUnit, and a pytest file that replays each failure) are kept.
#
#   scripts/outside-checks.sh                  start dist/miseos/server on a fresh database, check it
#   scripts/outside-checks.sh --binary PATH    the same with another server binary
#   scripts/outside-checks.sh --url URL        check a server already running at URL (demo users
#                                              on; the caller starts and stops it)
#   scripts/outside-checks.sh [...] -- ARGS    more `schemathesis run` arguments, e.g. to explore:
#                                              -- --include-path-regex '^/api/v1/users' --checks all
#
# Environment:
#   OUTSIDE_CHECKS_MAX_EXAMPLES  test cases per operation and phase (default 50: about a minute
#                                for both runs on 2 cores)
#   OUTSIDE_CHECKS_WORKERS       default 1: with more, Hypothesis parses source with `ast` from
#                                several threads, which CPython 3.11 can fail at ("AST
#                                constructor recursion depth mismatch")
#   OUTSIDE_CHECKS_SEED          default fixed, so a CI run is repeatable; set another to explore
#   OUTSIDE_CHECKS_REPORT_DIR    default .tools/outside-checks
#
# Schemathesis is installed from PyPI at the versions pinned in
# scripts/outside-checks-requirements.txt into .tools/venv by scripts/setup.sh --test.
#
# A server this script starts runs in a network namespace of its own with only loopback (when
# `unshare` works, as root does): what the fuzzer makes it send (webhooks, Web Push) can reach
# nothing but this machine. The fuzzer's webhook and push URLs are also pointed at a closed
# loopback port before they are sent, and it never changes, resets or signs out the sessions
# the checks run on (see the hooks below).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$root/scripts/$(basename "${BASH_SOURCE[0]}")
cd "$root"

binary=$root/dist/miseos/server
base_url=""
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=$(realpath -m "$2"); shift 2 ;;
    --url) base_url=${2%/}; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "outside-checks: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

max_examples=${OUTSIDE_CHECKS_MAX_EXAMPLES:-50}
workers=${OUTSIDE_CHECKS_WORKERS:-1}
seed=${OUTSIDE_CHECKS_SEED:-27}
report_dir=${OUTSIDE_CHECKS_REPORT_DIR:-$root/.tools/outside-checks}
venv=$root/.tools/venv
requirements=$root/scripts/outside-checks-requirements.txt
PASSWORD=mise-en-place
CHEF=gordon@miseos.dk
COOK=ali@miseos.dk
# A loopback port nothing listens on (discard): webhooks and pushes the fuzzer makes go here.
SINK=http://127.0.0.1:9

say() { echo "outside-checks: $*"; }

# 1. Schemathesis, at the pinned versions, in .tools/venv: scripts/setup.sh --test installs it
#    (outside the network namespace: it comes from PyPI).
if [ -z "${OUTSIDE_CHECKS_IN_NETNS:-}" ] && ! cmp -s "$requirements" "$venv/.outside-checks-requirements"; then
  "$root/scripts/setup.sh" --test
fi
py=$venv/bin/python

# 2. A server of our own runs in a network namespace with loopback alone: the script runs
#    itself again inside one.
isolated=false
if [ -z "$base_url" ]; then
  if [ -n "${OUTSIDE_CHECKS_IN_NETNS:-}" ]; then
    ip link set lo up
    isolated=true
  elif command -v ip >/dev/null && unshare --net true 2>/dev/null; then
    OUTSIDE_CHECKS_IN_NETNS=1 exec unshare --net -- "$BASH" "$self" --binary "$binary" -- "${extra[@]}"
  else
    say "warning: no network namespace (unshare --net failed)"
  fi
fi

say "$("$venv/bin/schemathesis" --version)"
work=$(mktemp -d "${TMPDIR:-/tmp}/miseos-outside-checks.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# 3. The server: the release binary on a fresh data directory with the demo users, on a port
#    of its own, as end2end/tests/server.ts starts it, with the per-user write limits lifted
#    (the fuzzer writes far faster than any cook).
if [ -z "$base_url" ]; then
  [ -x "$binary" ] || { echo "outside-checks: no server binary at $binary (scripts/release.sh builds dist/miseos)" >&2; exit 1; }
  release_dir=$(dirname "$binary")
  mkdir -p "$work/data"
  (
    cd "$release_dir"
    exec env HOST=127.0.0.1 PORT=0 MISEOS_PORT_FILE="$work/port" MISEOS_DATA_DIR="$work/data" \
      MISEOS_JWT_SECRET=outside-checks-secret-that-is-at-least-32-bytes-long MISEOS_DEMO=true \
      MISEOS_SHUTDOWN_GRACE_SECONDS=0 MISEOS_MAX_NEW_ITEMS_PER_MINUTE=0 MISEOS_MAX_PENDING_PER_USER=0 \
      MISEOS_WEBHOOK_EXTRA_ORIGINS=$SINK MISEOS_PUSH_EXTRA_ORIGINS=$SINK \
      LEPTOS_OUTPUT_NAME=miseos LEPTOS_SITE_ROOT="$release_dir/site" LEPTOS_SITE_PKG_DIR=pkg \
      LEPTOS_HASH_FILES=true LEPTOS_ENV=PROD RUST_LOG=warn NO_COLOR=1 "$binary"
  ) >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    [ -s "$work/port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "outside-checks: the server exited" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$work/port" ] || { cat "$work/server.log" >&2; echo "outside-checks: the server did not start in 30 s" >&2; exit 1; }
  base_url=http://127.0.0.1:$(tr -d '[:space:]' <"$work/port")
  say "server $binary (pid $server_pid) at $base_url$($isolated && echo ', in a network namespace of its own')"
fi
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$base_url/healthz" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "$base_url/healthz"

# 4. The tokens, all taken before any run: the fuzzer's sign-ins soon throttle this address.
#    Each user has two sessions: the one the checks run on, and a spare one that the fuzzer's
#    POST /auth/logout ends instead.
sign_in() {
  curl -fsS -X POST "$base_url/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" |
    "$py" -c 'import json, sys; answer = json.load(sys.stdin); print(answer["token"], answer["user"]["id"])'
}
answer=$(sign_in "$CHEF") && read -r chef_token chef_id <<<"$answer"
answer=$(sign_in "$CHEF") && read -r chef_spare _ <<<"$answer"
answer=$(sign_in "$COOK") && read -r cook_token cook_id <<<"$answer"
answer=$(sign_in "$COOK") && read -r cook_spare _ <<<"$answer"

# 5. The hooks: how the fuzzer authenticates, and what it may not do to the run itself.
cat >"$work/outside_checks_hooks.py" <<'PYTHON'
"""Schemathesis hooks of scripts/outside-checks.sh."""

import os

import schemathesis

TOKEN = os.environ["OUTSIDE_CHECKS_TOKEN"]
SPARE_TOKEN = os.environ["OUTSIDE_CHECKS_SPARE_TOKEN"]
# The users the runs sign in as: never changed, disabled or reset (that would end the run's session).
PROTECTED_IDS = {int(value) for value in os.environ["OUTSIDE_CHECKS_PROTECTED_IDS"].split(",")}
SINK = os.environ["OUTSIDE_CHECKS_SINK"]
# No user has it: a protected id becomes this one (404).
STAND_IN_ID = 2_000_000_000


@schemathesis.auth(refresh_interval=None)
class Bearer:
    """The run's token on every request; the spare one where signing out would end the run's session."""

    def get(self, case, context):
        return SPARE_TOKEN if context.operation.path.endswith("/auth/logout") else TOKEN

    def set(self, case, token, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {token}"


def as_int(value):
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@schemathesis.hook
def before_call(context, case, kwargs):
    """Just before each request, whatever the phase."""
    path, method = case.operation.path, case.method.upper()
    body = case.body if isinstance(case.body, dict) else None
    # A URL the server would send to: a closed port on loopback, never an outside address.
    if method == "POST" and body is not None:
        if path.endswith("/webhooks") and isinstance(body.get("url"), str):
            body["url"] = f"{SINK}/webhook"
        if path.endswith("/push/subscriptions") and isinstance(body.get("endpoint"), str):
            body["endpoint"] = f"{SINK}/push"
    if path.startswith("/api/v1/users/{id}") and case.path_parameters and "id" in case.path_parameters:
        if as_int(case.path_parameters["id"]) in PROTECTED_IDS:
            case.path_parameters["id"] = STAND_IN_ID
PYTHON
cat >"$work/schemathesis.toml" <<'TOML'
# A document with a dangling $ref fails too. (Not `missing_auth`: the cook's 403s raise it; the
# script checks instead that each run's session lasted.)
[warnings]
fail-on = ["unresolvable_reference"]
TOML

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
excluded=()
if ! $isolated; then
  # Not isolated: nothing that makes the server send to a URL (the hooks point the URLs at
  # loopback, and this is a second guard).
  excluded=(--exclude-operation-id postWebhooks --exclude-operation-id postWebhooksTest --exclude-operation-id postPushSubscriptions)
  say "not isolated: POST /api/v1/webhooks, /api/v1/webhooks/{id}/test and /api/v1/push/subscriptions are left out"
fi
mkdir -p "$report_dir"

# 6. The runs: the head chef (every operation open to them), then the cook (most answer 403).
status=0
run() {
  local who=$1 token=$2 spare=$3 started=$SECONDS code=0
  say "== Schemathesis as the $who: $checks; $max_examples examples per operation, $workers workers, seed $seed"
  (
    cd "$work"
    OUTSIDE_CHECKS_TOKEN=$token OUTSIDE_CHECKS_SPARE_TOKEN=$spare OUTSIDE_CHECKS_SINK=$SINK \
      OUTSIDE_CHECKS_PROTECTED_IDS="$chef_id,$cook_id" SCHEMATHESIS_HOOKS=outside_checks_hooks PYTHONPATH="$work" \
      timeout 600 "$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" --no-color run "$base_url/api/openapi.json" \
      --url "$base_url" --checks "$checks" --max-examples "$max_examples" --workers "$workers" --seed "$seed" \
      --request-timeout 20 --generation-database none --suppress-health-check too_slow,filter_too_much \
      --report junit,pytest --report-junit-path "$report_dir/$who.junit.xml" \
      --report-pytest-path "$report_dir/$who.failures.py" "${excluded[@]}" "${extra[@]}"
  ) || code=$?
  say "the $who's run: exit $code in $((SECONDS - started)) s"
  [ "$code" -eq 0 ] || status=1
  # Its answers count only if its session lasted the whole run.
  if ! curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base_url/api/v1/auth/me"; then
    say "the $who's session ended during the run: its answers were mostly 401s and prove little"
    status=1
  fi
}
run chef "$chef_token" "$chef_spare"
run cook "$cook_token" "$cook_spare"

if [ -n "$server_pid" ]; then
  if ! kill -0 "$server_pid" 2>/dev/null; then
    say "the server died during the runs"
    status=1
  fi
  if grep -q ERROR "$work/server.log"; then
    say "the server logged errors (shown, not failed on: a 5xx or a panic fails its check above):"
    grep ERROR "$work/server.log" | head -n 40
  fi
fi
if [ "$status" -eq 0 ]; then
  say "passed: no 5xx, every answer as the document says (reports in $report_dir)"
else
  say "FAILED (reports in $report_dir)"
fi
exit "$status"
