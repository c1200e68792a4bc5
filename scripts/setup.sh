#!/usr/bin/env bash
# Installs what Fieldcheck needs on Debian 12 (run as root, or with sudo available) and builds the
# virtual environment in .venv from a Python that can load SQLite extensions (SpatiaLite).
#   scripts/setup.sh          server only
#   scripts/setup.sh --test   also PostgreSQL + PostGIS, Chromium and the test/lint tools
# Elsewhere (macOS: `brew install spatialite-tools python@3.12`, a Python built with
# --enable-loadable-sqlite-extensions), install the equivalents and set FIELDCHECK_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root (or sudo) to run: $*" >&2; exit 1; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if command -v apt-get >/dev/null && [ -f /etc/debian_version ]; then
  apt_install python3 python3-venv python3-dev gcc libsqlite3-mod-spatialite fonts-noto-cjk
  if [ $want_test = 1 ]; then
    apt_install postgresql postgresql-15-postgis-3 chromium chromium-driver redis-server wrk poppler-utils
  fi
else
  echo "==> not Debian: install SpatiaLite (mod_spatialite), a CJK font and, for tests, PostgreSQL 15 + PostGIS 3 yourself" >&2
fi

# A Python >= 3.11 whose sqlite3 module can load extensions and finds mod_spatialite.
can_load() {
  "$1" - <<'PY' 2>/dev/null
import sqlite3, sys
assert sys.version_info >= (3, 11)
c = sqlite3.connect(":memory:")
c.enable_load_extension(True)
c.load_extension("mod_spatialite")
PY
}
python=""
for cand in ${FIELDCHECK_PYTHON:-} /usr/bin/python3 python3.13 python3.12 python3.11 python3; do
  path=$(command -v "$cand" 2>/dev/null) || continue
  if can_load "$path"; then python=$path; break; fi
done
if [ -z "$python" ]; then
  cat >&2 <<'MSG'
No Python >= 3.11 here can load SQLite extensions with mod_spatialite.
(pyenv's default build cannot: it lacks sqlite3 extension loading.)
Debian: apt-get install python3 python3-venv libsqlite3-mod-spatialite
Otherwise: build Python with --enable-loadable-sqlite-extensions and set FIELDCHECK_PYTHON=/path/to/python3
MSG
  exit 1
fi

if [ -x .venv/bin/python ] && ! can_load .venv/bin/python; then
  echo "==> .venv cannot load SpatiaLite; rebuilding it"; rm -rf .venv
fi
[ -x .venv/bin/python ] || { echo "==> creating .venv with $python"; "$python" -m venv .venv; }
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ $want_test = 1 ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
else
  .venv/bin/python -m pip install -q -e .
fi
echo "==> .venv ready ($(.venv/bin/python --version))"
