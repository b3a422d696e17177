#!/bin/sh
# Creates the folder PostgreSQL keeps its cluster in (examples/recipes/.data, git-ignored).
#
# Why not .stackup/: stackup makes that folder 0700 for whoever runs it, and when that
# is root, the database runs as the `postgres` user (PostgreSQL refuses root), which
# could not enter it. So the data lives beside it, and only when we are root is the
# folder handed to the postgres user.
set -eu
dir=$(dirname "$PGDATA")
mkdir -p "$dir"
chmod 0700 "$dir"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
fi
