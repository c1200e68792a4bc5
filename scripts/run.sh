#!/usr/bin/env bash
# One command: install, migrate, load demo data and serve on http://127.0.0.1:8000 (SQLite + SpatiaLite).
# FIELDCHECK_HOST (default 127.0.0.1; 0.0.0.0 to reach it from a phone on the LAN) and
# FIELDCHECK_PORT (default 8000) choose where it listens; every other FIELDCHECK_* setting of the
# README applies as well.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FIELDCHECK_DEMO=${FIELDCHECK_DEMO:-1}
export FIELDCHECK_DATA_DIR=${FIELDCHECK_DATA_DIR:-./var}
.venv/bin/fieldcheck db upgrade
.venv/bin/fieldcheck seed --demo
host=${FIELDCHECK_HOST:-127.0.0.1}
port=${FIELDCHECK_PORT:-8000}
cat <<MSG

  Fieldcheck is starting on http://$host:$port
    API docs:        http://$host:$port/schema
    OpenAPI schema:  http://$host:$port/schema/openapi.json
    Health:          http://$host:$port/healthz
    Demo login:      curl -s -X POST http://$host:$port/api/v1/auth/token \\
                       -H 'Content-Type: application/json' \\
                       -d '{"username": "sy.officer1", "password": "fieldcheck-demo"}'

  Demo accounts (password fieldcheck-demo, demo mode only):
MSG
.venv/bin/python -c 'from backend.seed import demo_account_lines; print("\n".join("    " + line for line in demo_account_lines()))'
echo
exec .venv/bin/fieldcheck serve --host "$host" --port "$port"
