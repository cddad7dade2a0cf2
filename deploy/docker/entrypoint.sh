#!/bin/sh
# Container entrypoint for labserve.
#
# No arguments, or only options: `labserve serve` on 0.0.0.0:8000 with LABSERVE_WORKERS
# worker processes (default 2). Anything else is run as given (`labserve db upgrade`, ...).
# Secrets come as files: LABSERVE_DATABASE_URL_FILE, LABSERVE_REDIS_URL_FILE and
# LABSERVE_SECRET_KEY_FILE are read by labserve's settings themselves (for every command,
# `docker exec` ones included), so the values never sit in the environment.
#
# `exec` so that labserve (granian) is PID 1 and receives SIGTERM itself: it stops accepting,
# finishes in-flight requests (up to 30 s), and its shipper moves the last audit records.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    exec labserve serve --host 0.0.0.0 --port 8000 --workers "${LABSERVE_WORKERS:-2}" "$@"
fi
exec "$@"
