#!/usr/bin/env bash
# The whole test suite: lint, types, then every test on SQLite and again on PostgreSQL 15.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

# A real browser for the Playwright tests: Debian's chromium.
if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests…"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null
fi

# WeasyPrint (PDF sign-in sheets) draws text with the system's pango.
if ! ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0.so.0"; then
  echo "Installing pango for the PDF exports…"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0) >/dev/null
fi

# A real PostgreSQL server: start the local cluster if needed, create the test role.
PG_URL=${CONCIERGERIE_TEST_PG_URL:-postgresql://conciergerie@127.0.0.1:5432/conciergerie}
if command -v pg_lsclusters >/dev/null 2>&1; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
    # shellcheck disable=SC2086
    pg_ctlcluster --skip-systemctl-redirect $cluster start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='conciergerie'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -qc "CREATE ROLE conciergerie LOGIN CREATEDB PASSWORD 'conciergerie'"
  fi
  if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='conciergerie'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE conciergerie OWNER conciergerie"
  fi
fi

echo "== ruff"
$BIN/ruff check src tests bench
$BIN/ruff format --check src tests bench
echo "== mypy"
$BIN/mypy src/conciergerie
echo "== migrations are up to date"
CONCIERGERIE_DATA_DIR=$(mktemp -d) $BIN/conciergerie makemigrations --check --dry-run >/dev/null

DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
export DJANGO_ALLOW_ASYNC_UNSAFE=true  # Playwright's sync API runs an event loop in the test thread

echo "== tests on SQLite"
CONCIERGERIE_DATA_DIR=$DATA/sqlite $BIN/pytest "$@"

echo "== tests on PostgreSQL"
CONCIERGERIE_DATA_DIR=$DATA/pg CONCIERGERIE_DATABASE_URL=$PG_URL $BIN/pytest "$@"
