#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for labserve's storage tests, and say how to reach it.
#
# Usage:  scripts/start-postgres.sh [ENV_FILE]
#
# Prints exactly one line on stdout, LABSERVE_TEST_POSTGRES_URL=postgresql+psycopg://...,
# (or writes it to ENV_FILE instead); all progress goes to stderr. So either of these works:
#     export "$(bash scripts/start-postgres.sh)"
#     bash scripts/start-postgres.sh pg.env && set -a && . ./pg.env && set +a
#
# Idempotent: a second run finds the server it started (state in $LABSERVE_PG_STATE, default
# /var/tmp/labserve-postgres) and just prints the URL again; after a reboot it restarts it.
# The server is our own cluster (initdb), not the distribution's "main" one, so it cannot clash
# with a PostgreSQL the machine already runs: it listens on 127.0.0.1 only, on a free port,
# and its test role (CREATEDB, not superuser) logs in with a random password over TCP.
#
# Stop it with:  runuser -u postgres -- pg_ctl -D "$LABSERVE_PG_STATE/data" stop
set -euo pipefail

STATE_DIR="${LABSERVE_PG_STATE:-/var/tmp/labserve-postgres}"
DATA_DIR="$STATE_DIR/data"
SOCKET_DIR="$STATE_DIR/run"
LOG_FILE="$STATE_DIR/server.log"
ROLE="labserve_test"
FIRST_PORT=54329
DEADLINE_SECONDS=60

log() { printf 'start-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_bindir() {
    # Debian keeps server binaries out of PATH, one directory per major version.
    local dir
    dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null \
        | sort -V | tail -n 1)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        printf '%s\n' "$dir"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

# --- 1. install ------------------------------------------------------------------------------
BINDIR="$(find_bindir)"
if [[ -z "$BINDIR" ]]; then
    [[ "$(id -u)" -eq 0 ]] || die "PostgreSQL is not installed; run as root so apt-get can install it"
    log "installing postgresql with apt-get"
    # Debian's postinst would create and start its own 'main' cluster; we do not need it.
    mkdir -p /etc/postgresql-common/createcluster.d
    printf 'create_main_cluster = false\n' \
        >/etc/postgresql-common/createcluster.d/labserve-no-main.conf
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
    BINDIR="$(find_bindir)"
    [[ -n "$BINDIR" ]] || die "postgresql installed but initdb not found under /usr/lib/postgresql"
fi

# --- 2. who runs the server ------------------------------------------------------------------
# PostgreSQL refuses to run as root, so root runs it as the 'postgres' user the package made.
if [[ "$(id -u)" -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the server as"
    as_server_user() { runuser -u postgres -- "$@"; }
    SERVER_USER=postgres
else
    as_server_user() { "$@"; }
    SERVER_USER="$(id -un)"
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

server_running() {
    [[ -f "$DATA_DIR/PG_VERSION" ]] && as_server_user "$BINDIR/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

# --- 3. cluster ------------------------------------------------------------------------------
mkdir -p "$STATE_DIR"
chmod 0711 "$STATE_DIR"
if [[ ! -f "$DATA_DIR/PG_VERSION" || ! -f "$STATE_DIR/password" ]]; then
    log "creating a cluster in $DATA_DIR"
    rm -rf "$DATA_DIR" "$SOCKET_DIR"
    mkdir -p "$DATA_DIR" "$SOCKET_DIR"
    chown "$SERVER_USER" "$DATA_DIR" "$SOCKET_DIR"
    chmod 0700 "$DATA_DIR"
    # The superuser has no password: it is reachable only by its own OS user over the socket.
    as_server_user "$BINDIR/initdb" -D "$DATA_DIR" -U postgres --auth-local=peer \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >&2
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$STATE_DIR/password")
    rm -f "$STATE_DIR/port"
fi
PASSWORD="$(cat "$STATE_DIR/password")"

# --- 4. start --------------------------------------------------------------------------------
if server_running && [[ -f "$STATE_DIR/port" ]]; then
    PORT="$(cat "$STATE_DIR/port")"
    log "already running on 127.0.0.1:$PORT"
else
    PORT="$FIRST_PORT"
    while port_in_use "$PORT"; do
        PORT=$((PORT + 1))
        ((PORT < FIRST_PORT + 100)) || die "no free port in $FIRST_PORT..$PORT"
    done
    log "starting on 127.0.0.1:$PORT (log: $LOG_FILE)"
    touch "$LOG_FILE"
    chown "$SERVER_USER" "$LOG_FILE"
    # fsync off: a test server whose data is thrown away need not survive a power cut.
    # pg_ctl pastes -o into a shell line, so the options must stay on one line; with -l the
    # server writes to the log file and keeps none of our descriptors (a caller's $(...) ends).
    opts="-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$SOCKET_DIR"
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    opts+=" -c max_connections=200"
    as_server_user "$BINDIR/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$DEADLINE_SECONDS" \
        -o "$opts" start </dev/null >&2 \
        || { tail -n 20 "$LOG_FILE" >&2; die "server did not start"; }
    printf '%s\n' "$PORT" >"$STATE_DIR/port"
fi

# --- 5. wait until it accepts connections ----------------------------------------------------
deadline=$((SECONDS + DEADLINE_SECONDS))
until as_server_user "$BINDIR/pg_isready" -q -h "$SOCKET_DIR" -p "$PORT" -U postgres; do
    ((SECONDS < deadline)) || { tail -n 20 "$LOG_FILE" >&2; die "not ready after ${DEADLINE_SECONDS}s"; }
    sleep 0.2
done

# --- 6. test role ----------------------------------------------------------------------------
psql_admin() {
    as_server_user "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PORT" \
        -U postgres -d postgres "$@"
}
if [[ "$(psql_admin -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]]; then
    log "creating role $ROLE"
    psql_admin -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
else
    psql_admin -c "ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
fi

# --- 7. check the URL works over TCP, then hand it out ----------------------------------------
URL="postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/postgres"
PGPASSWORD="$PASSWORD" "$BINDIR/psql" -X -q -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d postgres \
    -c "SELECT 1" >/dev/null || die "role $ROLE cannot log in over TCP"

LINE="LABSERVE_TEST_POSTGRES_URL=$URL"
if [[ $# -ge 1 ]]; then
    (umask 077 && printf '%s\n' "$LINE" >"$1")
    log "wrote LABSERVE_TEST_POSTGRES_URL to $1"
else
    printf '%s\n' "$LINE"
fi
