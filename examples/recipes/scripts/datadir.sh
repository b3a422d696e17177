#!/bin/sh
# Creates the folder PostgreSQL keeps its cluster in ($PGDATA: examples/recipes/.data/pg15
# unless RECIPES_PGDATA says otherwise), on the first run only.
#
# Why not under .stackup/: stackup makes that folder 0700 for whoever runs it, and when
# that is root, the database runs as the `postgres` user (PostgreSQL refuses root), which
# could not enter it. So the data lives beside it, and only when we are root is the
# folder handed to the postgres user. A folder that exists already is left as it is.
set -eu
if [ -d "$PGDATA" ]; then
    exit 0
fi
mkdir -p "$PGDATA"
chmod 0700 "$PGDATA"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$PGDATA"
fi
echo "created $PGDATA"
