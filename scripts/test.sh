#!/usr/bin/env bash
# One command: install what the tests need, start PostgreSQL + PostGIS if they are not running, then
# lint (ruff), type-check (mypy), check the layers (lint-imports, docs/architecture.md) and run the
# whole suite on SQLite + SpatiaLite and on PostGIS.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

# PostgreSQL: start the cluster if needed, then find a way in (TCP trust as on CI machines, else the
# local socket as a superuser role named after this OS user).
if command -v pg_lsclusters >/dev/null; then
  read -r ver name _ <<<"$(pg_lsclusters -h | head -n1)"
  if [ -n "${ver:-}" ] && ! pg_lsclusters -h | head -n1 | grep -q online; then
    echo "==> starting PostgreSQL $ver/$name"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || pg_ctlcluster "$ver" "$name" start
  fi
fi
if [ -z "${FIELDCHECK_TEST_PG_ADMIN:-}" ]; then
  if psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    export FIELDCHECK_TEST_PG_ADMIN="postgresql://postgres@127.0.0.1:5432/postgres"
  else
    me=$(id -un)
    if [ "$(id -u)" = 0 ]; then
      su postgres -c "psql -Atqc \"select 1 from pg_roles where rolname='$me'\" | grep -q 1 || createuser -s '$me'"
    fi
    export FIELDCHECK_TEST_PG_ADMIN="postgresql://$me@/postgres?host=/var/run/postgresql"
  fi
fi
echo "==> PostgreSQL for tests: $FIELDCHECK_TEST_PG_ADMIN"

# Redis for the shared rate-limit tests (tests/test_scaleout.py): start a throwaway one (no
# persistence) on 127.0.0.1:6379 if nothing answers there.
if [ -z "${FIELDCHECK_TEST_REDIS_URL:-}" ]; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "==> starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  export FIELDCHECK_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
fi
echo "==> Redis for tests: $FIELDCHECK_TEST_REDIS_URL"

echo "==> ruff"
.venv/bin/ruff check backend tests bench
echo "==> mypy"
.venv/bin/mypy
echo "==> lint-imports (the layers of docs/architecture.md)"
.venv/bin/lint-imports
echo "==> pytest (SQLite + SpatiaLite and PostgreSQL + PostGIS)"
exec .venv/bin/pytest -n auto "$@"
