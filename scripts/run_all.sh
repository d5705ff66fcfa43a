#!/usr/bin/env bash
# Run the web server, a Celery worker and Celery beat together in the foreground.
#
# Ctrl-C (or SIGTERM) stops all three; if one of them exits on its own, the others are stopped
# too and this script exits with that process's status. Called by `make run`, after migrate,
# seed_demo and collectstatic.
set -uo pipefail

cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
VAR_DIR="${VAR_DIR:-${TOUCHSTONE_VAR_DIR:-var}}"
# PORT picks the port (RUN_ADDRESS the whole host:port); links in e-mails follow it.
ADDRESS="${RUN_ADDRESS:-127.0.0.1:${PORT:-8000}}"
export SITE_URL="${SITE_URL:-http://$ADDRESS}"
mkdir -p "$VAR_DIR"

# Say so plainly when the port is taken, before starting anything.
if ! "$BIN/python" - "$ADDRESS" <<'PY'
import socket, sys
host, _, port = sys.argv[1].rpartition(":")
with socket.socket() as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host or "127.0.0.1", int(port)))
    except OSError:
        sys.exit(1)
PY
then
    echo "run_all: $ADDRESS is already in use. Stop what runs there, or pick another port:" \
        "PORT=8001 make run" >&2
    exit 1
fi

pids=()
names=()

# Each process gets its own session and process group (setsid), so a signal to the group reaches
# it and its children (runserver's autoreloader child, the worker's pool) and nothing else. A
# terminal's Ctrl-C reaches only this script, whose trap stops the three in order.
start() {
    local name="$1"
    shift
    setsid "$@" &
    pids+=("$!")
    names+=("$name")
    echo "run_all: started $name (pid $!): $*"
}

stopping=0
stop_all() {
    ((stopping)) && return
    stopping=1
    echo "run_all: stopping web, worker and beat"
    for i in "${!pids[@]}"; do
        if [[ "${names[$i]}" == web ]]; then
            kill -TERM -- "-${pids[$i]}" 2>/dev/null  # the autoreloader and its server child
        else
            kill -TERM "${pids[$i]}" 2>/dev/null  # Celery's warm shutdown stops its own pool
        fi
    done
    # A worker finishes the task in hand before it exits; give that a bounded time.
    local deadline=$((SECONDS + 20))
    for pid in "${pids[@]}"; do
        while kill -0 -- "-$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.2
        done
        kill -KILL -- "-$pid" 2>/dev/null
    done
    wait 2>/dev/null
}

trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

start web "$BIN/python" manage.py runserver "$ADDRESS"
start worker "$BIN/celery" -A config worker -l info
start beat "$BIN/celery" -A config beat -l info --schedule "$VAR_DIR/celerybeat-schedule"

cat <<EOF
run_all: Touchstone is starting on http://$ADDRESS/ (ready when http://$ADDRESS/healthz answers).
  workbench     http://$ADDRESS/            analyst, reviewer (appeals), admin
  brand portal  http://$ADDRESS/portal/     brand
  admin         http://$ADDRESS/admin/      admin
  API docs      http://$ADDRESS/api/v1/docs/
  The demo password is printed by seed_demo above. E-mails (statements of reasons, with each
  seller's appeal link) are printed by the worker. Ctrl-C stops web, worker and beat.
EOF

# Return as soon as any of the three exits.
wait -n "${pids[@]}"
status=$?
for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
        echo "run_all: ${names[$i]} exited with status $status; stopping the others" >&2
        break
    fi
done
stop_all
exit "$status"
