#!/usr/bin/env bash
# The browser journeys (tests/browser/journey.mjs) against the real server on
# a fresh PostgreSQL database: installs Debian's chromium when missing and
# the pinned npm packages, creates the database and the accounts with the
# CLI, starts `lianxi serve`, runs the journeys, then stops the server and
# drops the database, even on failure.
#
# Needs a PostgreSQL role that may create databases: LIANXI_TEST_DATABASE_URL
# (as tests/run exports), else the one tests/run provisions. Screenshots and
# downloads go to target/browser-artifacts/. The server's log goes to
# $LIANXI_E2E_LOG_DIR/browser-serve.log when that is set (tests/run then
# checks it holds no personal data), else to the artifacts folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

say() { printf '[tests/browser] %s\n' "$*" >&2; }
started=$SECONDS

# (a) Debian's chromium, and the CJK font the stylesheet names (without it
# Chinese renders as boxes and the pages are measured wrong).
chromium=${LIANXI_CHROMIUM:-/usr/bin/chromium}
missing=()
[ -x "$chromium" ] || missing+=(chromium)
[ -n "$(fc-list 'Noto Sans CJK SC' 2>/dev/null)" ] || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian's ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# (b) playwright-core and axe-core, exactly as locked.
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

# The binary of this checkout (a no-op under tests/run, which built it), or
# the one LIANXI_BINARY names.
binary=${LIANXI_BINARY:-}
if [ -z "$binary" ]; then
  cargo build --locked -q -p lianxi-gateway --bin lianxi
  binary=$root/target/debug/lianxi
fi

artifacts=$root/target/browser-artifacts
rm -rf "$artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d)
server_pid=""
database=""
admin_url=${LIANXI_TEST_DATABASE_URL:-postgres://lianxi_test:lianxi_test@127.0.0.1:5432/postgres}

cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$database" ]; then
    psql "$admin_url" -qAtc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  if [ "$status" -ne 0 ]; then
    say "failed after $((SECONDS - started)) s; screenshots in $artifacts"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# (c) A fresh database next to the admin URL's.
database="lianxi_test_browser_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
psql "$admin_url" -qAtc "CREATE DATABASE \"$database\"" >/dev/null
base_url=${admin_url%%\?*}
query=${admin_url#"$base_url"}
export LIANXI_DATABASE_URL="${base_url%/*}/$database$query"
export LIANXI_MASTER_KEY_FILE="$work/master.key"
export LIANXI_AUDIT_KEY_FILE="$work/audit-signing.key"
export LIANXI_FILES="$work/files"

# (d) The xiaoqu and one account per role, each with a login and password.
# Names and phones are among tests/personal-data.txt.
password="a long passphrase"
"$binary" init >/dev/null 2>"$work/cli.log"
xiaoqu=$("$binary" admin add-xiaoqu --name 幸福里 --community 东苑社区 \
  --street 城厢街道 --district 涪城区 2>>"$work/cli.log" | sed -n 's/^id=//p')
[ -n "$xiaoqu" ] || { cat "$work/cli.log" >&2; say "add-xiaoqu printed no id"; exit 1; }
account() { # login role name [more flags]
  local login=$1 role=$2 name=$3
  shift 3
  printf '%s\n' "$password" | "$binary" admin add-account --login "$login" --password-stdin \
    --role "$role" --name "$name" "$@" >/dev/null 2>>"$work/cli.log" \
    || { cat "$work/cli.log" >&2; say "cannot create the $role account"; exit 1; }
}
account wangxm resident 王小明 --phone 13800138000 --xiaoqu "$xiaoqu"
account lishuji party_branch 李书记 --xiaoqu "$xiaoqu"
account wuye property_company 物业客服 --xiaoqu "$xiaoqu"
account yewei owners_committee 业委会张主任 --xiaoqu "$xiaoqu"
account weizuzhi micro_organization 志愿者服务队 --xiaoqu "$xiaoqu"
account shenji auditor 审计员

# (e) The server, on a port of its choosing; its address is on stdout.
log=$artifacts/browser-serve.log
if [ -n "${LIANXI_E2E_LOG_DIR:-}" ]; then
  mkdir -p "$LIANXI_E2E_LOG_DIR"
  log=$LIANXI_E2E_LOG_DIR/browser-serve.log
fi
RUST_LOG=${RUST_LOG:-debug} LIANXI_LISTEN=127.0.0.1:0 LIANXI_SCHEDULER_INTERVAL_MS=500 \
  "$binary" serve >"$work/serve.out" 2>"$log" &
server_pid=$!
base=""
for _ in $(seq 1 300); do
  base=$(sed -n 's/^lianxi listening on //p' "$work/serve.out" | head -n 1)
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { tail -n 20 "$log" >&2; say "lianxi serve exited"; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { say "lianxi serve did not listen within 30 s"; exit 1; }
ready() { "$binary" probe --listen "${base#http://}" >/dev/null 2>&1; }
for _ in $(seq 1 300); do
  ready && break
  sleep 0.1
done
ready || { say "$base/readyz is not ready"; exit 1; }
say "server at $base, database $database ($((SECONDS - started)) s)"

# (f) The journeys.
LIANXI_BASE=$base LIANXI_XIAOQU=$xiaoqu LIANXI_PASSWORD=$password LIANXI_CHROMIUM=$chromium \
  LIANXI_ARTIFACTS=$artifacts node tests/browser/journey.mjs
say "passed in $((SECONDS - started)) s; screenshots in $artifacts"
