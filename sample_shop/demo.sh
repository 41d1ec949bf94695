#!/bin/sh
# One command to see omnichannel at work in the sample shop.
#
#   sh sample_shop/demo.sh            # then open http://127.0.0.1:8000/
#   PORT=8080 sh sample_shop/demo.sh
#
# Installs the repo into .venv-demo (Python 3.13 or 3.12 when available, else python3),
# migrates a SQLite database under var/, loads the demo catalogue, and runs Celery beside
# Django's development server. With no CELERY_BROKER_URL, `celery beat` runs each periodic
# task itself (no broker, no service); with one (Redis), a worker with embedded beat.
# DATABASE_URL is used when set. Ctrl-C or SIGTERM stops every process it started.
#
#   DEMO_VENV=.venv DEMO_SKIP_INSTALL=1   use an existing virtualenv as it is
#   DEMO_VAR_DIR=/tmp/demo                where the SQLite database goes (default var/)
set -eu

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
VENV_DIR=${DEMO_VENV:-"$REPO_DIR/.venv-demo"}
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

if [ "${DEMO_SKIP_INSTALL:-}" = 1 ]; then
    [ -x "$VENV_DIR/bin/python" ] || { echo "demo: no virtualenv at $VENV_DIR" >&2; exit 1; }
elif [ ! -x "$VENV_DIR/bin/python" ]; then
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
if [ "${DEMO_SKIP_INSTALL:-}" != 1 ] && { [ ! -f "$STAMP" ] || [ setup.cfg -nt "$STAMP" ] \
    || [ pyproject.toml -nt "$STAMP" ]; }; then
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

# Each server runs as the leader of a process group of its own, so that stopping it stops
# what it forked too (runserver's autoreloader child, a worker's pool and embedded beat).
# Called with "&": exec makes the background job itself the leader, so $! names the group.
in_own_group() {
    exec "$PYTHON" -c 'import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

GROUPS_STARTED=""
any_running() {
    for group in $GROUPS_STARTED; do
        if kill -0 "-$group" 2>/dev/null; then return 0; fi
    done
    return 1
}
stop_all() {
    trap - EXIT INT TERM
    [ -n "$GROUPS_STARTED" ] || return 0
    echo "demo: stopping"
    for group in $GROUPS_STARTED; do kill -TERM "-$group" 2>/dev/null || true; done
    tries=0
    while any_running && [ $tries -lt 100 ]; do  # up to 10 s to finish cleanly
        sleep 0.1
        tries=$((tries + 1))
    done
    for group in $GROUPS_STARTED; do kill -KILL "-$group" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

if [ -n "${CELERY_BROKER_URL:-}" ]; then
    in_own_group "$VENV_DIR/bin/celery" -A sample_shop worker --beat --loglevel=info &
else
    in_own_group env DEMO_BEAT_RUNS_TASKS=1 "$VENV_DIR/bin/celery" -A sample_shop beat \
        --loglevel=info &
fi
GROUPS_STARTED=$!
in_own_group "$PYTHON" manage.py runserver "127.0.0.1:$PORT" &
GROUPS_STARTED="$GROUPS_STARTED $!"

cat <<INFO

  Sample Shop:  http://127.0.0.1:$PORT/
  Admin:        http://127.0.0.1:$PORT/admin/   (user admin, password admin)
  Stop:         Ctrl-C

INFO
# Both run in the background: a shell runs its traps only between foreground commands,
# so a foreground server would keep SIGTERM from ever reaching stop_all. Once either one
# ends (a port already in use, a crash), stop the other too.
while kill -0 "${GROUPS_STARTED% *}" 2>/dev/null && kill -0 "${GROUPS_STARTED#* }" 2>/dev/null
do
    sleep 1
done
echo "demo: a server stopped; stopping the rest" >&2
exit 1
