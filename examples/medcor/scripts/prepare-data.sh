#!/bin/sh
# Creates .data/ for PostgreSQL (and the proxy's nginx files). Not under .stackup/:
# that folder is 0700 and owned by whoever runs stackup, so a server run as the
# `postgres` user (stackup as root) could not reach a data folder inside it.
set -eu
mkdir -p .data/pg .data/nginx
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root: the `user: postgres` services own their folder.
  chown postgres:postgres .data/pg
  chmod 700 .data/pg
  if ! runuser -u postgres -- test -w .data/pg; then
    echo "the postgres user cannot reach $(pwd)/.data/pg: a folder above it is closed to" >&2
    echo "other users (e.g. /root is 0700). Clone the repo where others may enter, or" >&2
    echo "chmod o+x the folders above it." >&2
    exit 1
  fi
fi
