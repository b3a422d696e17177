#!/bin/sh
# Installs the frontend's packages with `npm ci` (exactly package-lock.json) when
# node_modules is missing, or older than package-lock.json (after a pull that changed
# it); otherwise a no-op, so a warm start costs nothing here.
set -eu
if [ -f node_modules/.package-lock.json ] && ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "node_modules is up to date"
    exit 0
fi
command -v npm >/dev/null || {
    echo "npm not found: install Node.js 20 or newer (Debian: apt install nodejs npm)" >&2
    exit 1
}
exec npm ci --no-audit --no-fund
