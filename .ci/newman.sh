#!/usr/bin/env bash
# Microsoft's Entra "SCIM Tests" Postman collection (IDP-QUIRKS §1.1), run
# with newman against a freshly started `scimd serve`, on SQLite and on
# PostgreSQL. Fails on any failed assertion that is not a listed, justified
# deviation in .ci/newman-deviations.json (see .ci/newman.js for its format).
#
#   bash .ci/newman.sh                  # both databases
#   bash .ci/newman.sh sqlite           # or: postgres
#   NEWMAN_SHADOW=1 bash .ci/newman.sh  # against a shadow connector (issue 12):
#                                       # the same results, and no row written
#                                       # to users, groups, members or grants
#
# Needs Go, Node (>= 16), npm, curl and psql; newman is installed, pinned,
# into .ci/.npm (git-ignored). PostgreSQL must answer on 127.0.0.1:5432 as
# user postgres (trust), as .ci/run ensures; the script makes a database of
# its own and drops it afterwards. Set NEWMAN_REPORT_DIR to keep the JSON
# reports and the server logs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

NEWMAN_VERSION=6.2.2
COLLECTION=${SCIMD_CONFORMANCE_DIR:-../shared/conformance}/azuread-SCIMReferenceCode-PostmanCollection.json
DEVIATIONS=.ci/newman-deviations.json
NPM_DIR=.ci/.npm
PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=postgres
TENANT=entra CONNECTOR=entra

step() { printf '\n=== %s\n' "$*"; }
die() { echo "newman.sh: $*" >&2; exit 1; }

dbs=("$@")
[ ${#dbs[@]} -gt 0 ] || dbs=(sqlite postgres)
for db in "${dbs[@]}"; do
  case $db in sqlite | postgres) ;; *) echo "usage: bash .ci/newman.sh [sqlite] [postgres]" >&2; exit 2 ;; esac
done
[ -f "$COLLECTION" ] || die "missing $COLLECTION (set SCIMD_CONFORMANCE_DIR, or put ../shared/conformance beside the repository root)"
for tool in go node npm curl psql; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

psql_admin() {
  PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@"
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scimd-newman.XXXXXX")
SERVER_PID=
PGDB=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$PGDB" ]; then
    psql_admin -c "DROP DATABASE IF EXISTS \"$PGDB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "newman $NEWMAN_VERSION"
NEWMAN=$NPM_DIR/node_modules/.bin/newman
installed=$(node -p "try { require('./$NPM_DIR/node_modules/newman/package.json').version } catch (e) { '' }")
if [ "$installed" != "$NEWMAN_VERSION" ]; then
  mkdir -p "$NPM_DIR"
  npm install --prefix "$NPM_DIR" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "newman@$NEWMAN_VERSION" 2>&1 | { grep -v 'Unknown user config' || true; }
fi
"$NEWMAN" --version

step "build scimd"
go build -o "$TMP/scimd" ./cmd/scimd
node .ci/newman.js prepare "$COLLECTION" "$TMP/collection.json"

# Plain logs unless on a terminal. newman's own failure table is left out:
# it is coloured even with --color off, and the check lists every failure
# with its request and response.
color=(--color off)
[ -t 1 ] && color=(--color on)

# run_db NAME DSN: token, profile, serve, newman, check. A broken harness
# dies (the EXIT trap stops the server and drops the database); failed
# assertions set status and leave the summary line in $TMP/check-NAME.txt.
status=0
# rows NAME DSN prints the row counts of what a shadow connector must not
# write.
rows() {
  local q="SELECT 'users', count(*) FROM users UNION ALL SELECT 'groups', count(*) FROM groups
    UNION ALL SELECT 'group_users', count(*) FROM group_users UNION ALL SELECT 'group_groups', count(*) FROM group_groups UNION ALL SELECT 'user_grants', count(*) FROM user_grants
    UNION ALL SELECT 'audit_events', count(*) FROM audit_events WHERE resource_type IN ('User', 'Group')"
  case $1 in
  sqlite) sqlite3 "$2" "$q" ;;
  *) psql -X -q -t -A -d "$2" -c "$q" ;;
  esac
}
run_db() {
  local name=$1 dsn=$2 token port log report rc=0
  # migrate makes the database (token create refuses a missing one); the
  # token is the last stdout line.
  "$TMP/scimd" migrate --database-url "$dsn" >"$TMP/token.err" 2>&1 ||
    { cat "$TMP/token.err" >&2; die "$name: scimd migrate failed"; }
  token=$("$TMP/scimd" token create --tenant "$TENANT" --connector "$CONNECTOR" --database-url "$dsn" 2>"$TMP/token.err" | tail -n 1) ||
    { cat "$TMP/token.err" >&2; die "$name: scimd token create failed"; }
  [ -n "$token" ] || { cat "$TMP/token.err" >&2; die "$name: scimd token create printed no token"; }
  # The entra profile answers user PATCH with 204, which the collection's
  # "Patch user omalley new username" and "patch user omalley active with
  # boolean" demand (RFC 7644 §3.5.2 allows 200 or 204).
  "$TMP/scimd" connector set --tenant "$TENANT" --connector "$CONNECTOR" --profile entra --database-url "$dsn"
  if [ -n "${NEWMAN_SHADOW:-}" ]; then
    "$TMP/scimd" connector set --tenant "$TENANT" --connector "$CONNECTOR" --mode shadow --database-url "$dsn"
    rows "$name" "$dsn" >"$TMP/rows-before.txt"
  fi

  port=$(node .ci/newman.js port)
  log=$TMP/scimd-$name.log
  "$TMP/scimd" serve --addr "127.0.0.1:$port" --database-url "$dsn" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; die "$name: scimd serve exited"; }
    sleep 0.1
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || { cat "$log" >&2; die "$name: scimd not ready after 10s"; }

  report=$TMP/newman-$name.json
  # newman exits 1 on any failed assertion; the check below decides.
  "$NEWMAN" run "$TMP/collection.json" \
    --env-var Protocol=http --env-var Server=127.0.0.1 --env-var "Port=:$port" \
    --env-var "Api=scim/v2/$TENANT" --env-var "token=$token" \
    --timeout-request 10000 --timeout 120000 "${color[@]}" --reporter-cli-no-failures \
    --reporters cli,json --reporter-json-export "$report" || true

  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  if [ -n "${NEWMAN_REPORT_DIR:-}" ]; then
    mkdir -p "$NEWMAN_REPORT_DIR"
    cp "$log" "$NEWMAN_REPORT_DIR/scimd-$name.log"
    [ ! -f "$report" ] || cp "$report" "$NEWMAN_REPORT_DIR/newman-$name.json"
  fi
  [ -s "$report" ] || { cat "$log" >&2; die "$name: newman wrote no report"; }

  node .ci/newman.js check "$TMP/collection.json" "$report" "$DEVIATIONS" "$name" >"$TMP/check-$name.txt" || rc=$?
  if [ -n "${NEWMAN_SHADOW:-}" ]; then
    rows "$name" "$dsn" >"$TMP/rows-after.txt"
    echo "rows before and after the shadow run: $(tr '\n' ' ' <"$TMP/rows-before.txt")/ $(tr '\n' ' ' <"$TMP/rows-after.txt")"
    cmp -s "$TMP/rows-before.txt" "$TMP/rows-after.txt" || { echo "newman $name: the shadow connector wrote rows" >>"$TMP/check-$name.txt"; status=1; }
    "$TMP/scimd" connector shadow --tenant "$TENANT" --connector "$CONNECTOR" --database-url "$dsn" >"$TMP/shadow-$name.json"
    [ -z "${NEWMAN_REPORT_DIR:-}" ] || cp "$TMP/shadow-$name.json" "$NEWMAN_REPORT_DIR/"
  fi
  cat "$TMP/check-$name.txt"
  case $rc in
  0) ;;
  1)
    status=1
    echo "--- scimd $name log (last 40 lines)"
    tail -n 40 "$log"
    ;;
  *) die "$name: the check itself failed (exit $rc)" ;;
  esac
}

for db in "${dbs[@]}"; do
  step "newman on $db"
  case $db in
  sqlite)
    run_db sqlite "$TMP/scimd-newman.db"
    ;;
  postgres)
    psql_admin -c 'SELECT 1' >/dev/null ||
      die "PostgreSQL does not answer on $PG_HOST:$PG_PORT as $PG_USER (.ci/run starts it)"
    PGDB=scimd_newman_$$_$RANDOM
    psql_admin -c "CREATE DATABASE \"$PGDB\"" || die "cannot create database $PGDB"
    run_db postgres "postgres://$PG_USER@$PG_HOST:$PG_PORT/$PGDB?sslmode=disable"
    psql_admin -c "DROP DATABASE \"$PGDB\" WITH (FORCE)"
    PGDB=
    ;;
  esac
done

step "summary"
for db in "${dbs[@]}"; do
  grep "^newman $db: " "$TMP/check-$db.txt"
done
exit $status
