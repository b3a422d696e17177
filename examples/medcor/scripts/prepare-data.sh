#!/bin/sh
# Creates the data folder ($MEDCOR_DATA_DIR, default .data/) for PostgreSQL's cluster
# and the proxy's nginx files. Not under .stackup/: that folder is 0700 and owned by
# whoever runs stackup, so a server run as the `postgres` user (stackup as root)
# could not reach a data folder inside it.
set -eu
data="${MEDCOR_DATA_DIR:-.data}"
mkdir -p "$data/pg" "$data/nginx"
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root: the `user: postgres` services own their folder.
  chown postgres:postgres "$data/pg"
  chmod 700 "$data/pg"
  # PostgreSQL opens its data folder by its absolute path: every folder above it must
  # let the postgres user through.
  absolute="$(cd "$data/pg" && pwd)"
  if ! runuser -u postgres -- test -w "$absolute"; then
    echo "the postgres user cannot reach $absolute: a folder above it is closed to" >&2
    echo "other users (e.g. /root is 0700). Move the data elsewhere, e.g." >&2
    echo "  MEDCOR_DATA=/var/tmp/medcor make medcor" >&2
    echo "or let others through the folders above it (chmod o+x)." >&2
    exit 1
  fi
fi
