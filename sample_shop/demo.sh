#!/bin/sh
# One command to see omnichannel at work in the sample shop.
#
#   sh sample_shop/demo.sh            # then open http://127.0.0.1:8000/
#   PORT=8080 sh sample_shop/demo.sh
#
# Installs the repo into .venv-demo (Python 3.13 or 3.12 when available, else python3),
# migrates a SQLite database under var/, loads the demo catalogue, and runs a Celery worker
# (with beat embedded) beside Django's development server. DATABASE_URL and
# CELERY_BROKER_URL are used when set; otherwise no service is needed.
set -eu

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
VENV_DIR="$REPO_DIR/.venv-demo"
PORT=${PORT:-8000}
# Links in the demo's messages (restore links, unsubscribe) point at this server.
SHOP_BASE_URL=${SHOP_BASE_URL:-http://127.0.0.1:$PORT}
export SHOP_BASE_URL
cd "$REPO_DIR"

# The newest of python3.13 / python3.12 that actually runs (pyenv shims exist for versions
# that are installed but not selected, and fail when called), else python3.
find_python() {
    for minor in 3.13 3.12; do
        if "python$minor" -c "" >/dev/null 2>&1; then
            command -v "python$minor"
            return
        fi
        if command -v pyenv >/dev/null 2>&1; then
            # Installed versions of that minor (3.13, 3.13.0, ...), newest patch first.
            pattern="^$(echo "$minor" | sed "s/\./\\\\./g")\(\.[0-9]*\)\{0,1\}\$"
            versions=$(pyenv versions --bare 2>/dev/null | grep "$pattern" | sort -t. -k3,3nr)
            for version in $versions; do
                path=$(PYENV_VERSION="$version" pyenv which "python$minor" 2>/dev/null) || continue
                if [ -x "$path" ]; then
                    echo "$path"
                    return
                fi
            done
        fi
    done
    command -v python3 || true
}

if [ ! -x "$VENV_DIR/bin/python" ]; then
    BASE_PYTHON=$(find_python)
    if [ -z "$BASE_PYTHON" ]; then
        echo "demo: no python3 found; install Python 3.11 or newer." >&2
        exit 1
    fi
    if ! "$BASE_PYTHON" -c "import sys; sys.exit(sys.version_info < (3, 11))"; then
        echo "demo: $BASE_PYTHON is older than 3.11, which omnichannel needs." >&2
        exit 1
    fi
    echo "demo: creating .venv-demo with $BASE_PYTHON"
    "$BASE_PYTHON" -m venv "$VENV_DIR"
fi
PYTHON="$VENV_DIR/bin/python"

# Reinstall only when the package metadata changed since the last install.
STAMP="$VENV_DIR/.demo-installed"
if [ ! -f "$STAMP" ] || [ setup.cfg -nt "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    # Django 6 needs Python 3.12; on 3.11 stay on Django 5.2 LTS.
    DJANGO_SPEC="Django>=5.2"
    if ! "$PYTHON" -c "import sys; sys.exit(sys.version_info < (3, 12))"; then
        DJANGO_SPEC="Django>=5.2,<6"
    fi
    echo "demo: installing the app and its extras into .venv-demo"
    "$PYTHON" -m pip install --quiet --upgrade pip
    "$PYTHON" -m pip install --quiet -e ".[all]" "$DJANGO_SPEC" dj-database-url
    touch "$STAMP"
fi

export DJANGO_SETTINGS_MODULE=sample_shop.settings
"$PYTHON" manage.py migrate --noinput
"$PYTHON" manage.py load_demo_data

WORKER_PID=""
stop_worker() {
    if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then
        echo "demo: stopping the Celery worker"
        kill "$WORKER_PID" 2>/dev/null || true
        wait "$WORKER_PID" 2>/dev/null || true
    fi
}
trap stop_worker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$VENV_DIR/bin/celery" -A sample_shop worker --beat --loglevel=info &
WORKER_PID=$!

cat <<INFO

  Sample Shop:  http://127.0.0.1:$PORT/
  Admin:        http://127.0.0.1:$PORT/admin/   (user admin, password admin)
  Stop:         Ctrl-C

INFO
"$PYTHON" manage.py runserver "127.0.0.1:$PORT"
