#!/bin/sh
# Creates the PostgreSQL cluster in $PGDATA on the first run; a no-op afterwards.
# Runs as the `postgres` user when stackup is root (stack.yaml: `user: postgres`).
set -eu
if [ -f "$PGDATA/PG_VERSION" ]; then
    echo "cluster exists in $PGDATA"
    exit 0
fi
# Tested by its absolute path: relative to the folder we were started in, a folder the
# user cannot search on the way from / (a checkout under a 0700 /root) goes unseen, and
# initdb then fails with a bare "Permission denied".
case $PGDATA in
    /*) data=$PGDATA ;;
    *) data=$(pwd -P)/$PGDATA ;;
esac
if ! [ -w "$data" ] || ! [ -x "$data" ]; then
    echo "user $(id -un) cannot write to $data: a folder above it is not searchable by" \
         "that user, or it is not that user's; move the checkout, or set RECIPES_PGDATA" \
         "to a path it can reach" >&2
    exit 1
fi
command -v initdb >/dev/null || {
    echo "initdb not found: install PostgreSQL (Debian: apt install postgresql-15)," \
         "or set PG_BIN to the folder holding initdb and postgres" >&2
    exit 1
}
# Trust on loopback only: a development database, listening on 127.0.0.1 (stack.yaml).
exec initdb -D "$PGDATA" -U recipes --auth=trust -E UTF8 --no-locale --no-instructions
