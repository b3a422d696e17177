#!/bin/sh
# Creates the PostgreSQL cluster in $PGDATA on the first run; a no-op afterwards.
# Runs as the `postgres` user when stackup is root (stack.yaml: `user: postgres`).
set -eu
if [ -f "$PGDATA/PG_VERSION" ]; then
    echo "cluster exists in $PGDATA"
    exit 0
fi
parent=$(dirname "$PGDATA")
if ! [ -w "$parent" ] || ! [ -x "$parent" ]; then
    echo "user $(id -un) cannot write to $(cd "$parent" 2>/dev/null && pwd || echo "$parent"):" \
         "a folder above it is not searchable by that user;" \
         "move the repo, or set RECIPES_PGDATA to a path it can reach" >&2
    exit 1
fi
command -v initdb >/dev/null || {
    echo "initdb not found: install PostgreSQL (Debian: apt install postgresql-15)," \
         "or set PG_BIN to the folder holding initdb and postgres" >&2
    exit 1
}
# Trust on loopback only: a development database, listening on 127.0.0.1 (stack.yaml).
exec initdb -D "$PGDATA" -U recipes --auth=trust -E UTF8 --no-locale --no-instructions
