#!/bin/sh
# The demo on django-oscar: the Oscar test shop (tests/oscar: Oscar 4.2 with
# omnichannel.contrib.oscar and nothing else) with a small catalogue and the two default
# flows, a Celery worker with beat embedded, and Django's development server.
#
#   sh sample_shop/demo_oscar.sh          # then open http://127.0.0.1:8000/
#   PORT=8080 PYTHON=python3.12 sh sample_shop/demo_oscar.sh
#
# Installs the repo with its oscar extra into .venv-demo-oscar, migrates an SQLite database
# under var/ (or DATABASE_URL), and uses CELERY_BROKER_URL when set, else a broker in
# files under var/ (no server). Carts count as abandoned after 2 minutes and a flow's day lasts a minute.
set -eu

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
VENV_DIR="$REPO_DIR/.venv-demo-oscar"
PORT=${PORT:-8000}
cd "$REPO_DIR"

if [ ! -x "$VENV_DIR/bin/python" ]; then
    BASE_PYTHON=${PYTHON:-python3}
    if ! "$BASE_PYTHON" -c "import sys; sys.exit(sys.version_info < (3, 11))"; then
        echo "demo: $BASE_PYTHON is older than 3.11 (set PYTHON to a newer one)." >&2
        exit 1
    fi
    "$BASE_PYTHON" -m venv "$VENV_DIR"
fi
PY="$VENV_DIR/bin/python"
STAMP="$VENV_DIR/.demo-installed"
if [ ! -f "$STAMP" ] || [ setup.cfg -nt "$STAMP" ]; then
    echo "demo: installing the app with its oscar extra into .venv-demo-oscar"
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -e ".[oscar]" dj-database-url
    touch "$STAMP"
fi

mkdir -p var
export DJANGO_SETTINGS_MODULE=tests.oscar.settings
export OSCAR_DEMO=1
export OSCAR_SQLITE_PATH=${OSCAR_SQLITE_PATH:-$REPO_DIR/var/oscar-demo.sqlite3}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}
"$PY" manage.py migrate --noinput
"$PY" manage.py load_oscar_demo --domain "127.0.0.1:$PORT"

WORKER_PID=""
stop_worker() {
    if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then
        kill "$WORKER_PID" 2>/dev/null || true
        wait "$WORKER_PID" 2>/dev/null || true
    fi
}
trap stop_worker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$VENV_DIR/bin/celery" -A tests.oscar.celery worker --beat --loglevel=info &
WORKER_PID=$!

cat <<INFO

  Oscar shop:  http://127.0.0.1:$PORT/
  Dashboard:   http://127.0.0.1:$PORT/dashboard/  (Marketing menu; admin / admin)
  To get a cart reminder: add a product, go to checkout, give an email and tick the
  consent box, then leave. Messages are printed here and listed in the admin.
  Stop:        Ctrl-C

INFO
"$PY" manage.py runserver "127.0.0.1:$PORT"
