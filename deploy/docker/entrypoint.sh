#!/bin/sh
# Container entrypoint for labserve.
#
# 1. Docker secrets: for every LABSERVE_<NAME>_FILE set, read the file into LABSERVE_<NAME>
#    (and drop the _FILE variable), the convention of the official database images. The
#    settings object reads LABSERVE_<NAME>_FILE itself too; doing it here as well means the
#    `labserve serve` command line (migrations run before the app exists) sees the same value.
# 2. No arguments, or only options: `labserve serve` on 0.0.0.0:8000 with LABSERVE_WORKERS
#    worker processes (default 2). Anything else is run as given (`labserve db upgrade`, ...).
#
# `exec` so that labserve (granian) is PID 1 and receives SIGTERM itself: it stops accepting,
# finishes in-flight requests (up to 30 s) and flushes the audit records before exiting.
set -eu

for name in $(env | sed -n 's/^\(LABSERVE_[A-Z0-9_]*\)_FILE=.*/\1/p'); do
    file="$(printenv "${name}_FILE")"
    if [ -n "$(printenv "$name" || true)" ]; then
        echo "entrypoint: both $name and ${name}_FILE are set; use one" >&2
        exit 64
    fi
    if [ ! -r "$file" ]; then
        echo "entrypoint: ${name}_FILE=$file is not a readable file" >&2
        exit 66
    fi
    # $(...) drops trailing newlines, which secret files usually end with.
    value="$(cat "$file")"
    export "$name=$value"
    unset "${name}_FILE"
done

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    exec labserve serve --host 0.0.0.0 --port 8000 --workers "${LABSERVE_WORKERS:-2}" "$@"
fi
exec "$@"
