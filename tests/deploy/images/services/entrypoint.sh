#!/bin/sh
# postgres: initialise PGDATA on first start (the subset of the official image's entrypoint
# that deploy/stack.yaml uses), then run the server in the foreground as PID 1.
# Anything else is run as given (redis-server, haproxy).
set -eu

if [ "${1:-postgres}" != postgres ]; then
    exec "$@"
fi
[ "$#" -gt 0 ] && shift

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    user="${POSTGRES_USER:-postgres}"
    db="${POSTGRES_DB:-$user}"
    pwfile="${POSTGRES_PASSWORD_FILE:-}"
    [ -r "$pwfile" ] || { echo "services-entrypoint: POSTGRES_PASSWORD_FILE unreadable" >&2; exit 1; }
    # Local (socket) logins are trusted, as in the official image; the network needs the password.
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c max_connections=200 "$@"
