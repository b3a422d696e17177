#!/bin/sh
# Creates the medcor database on first run, then applies both backends' migrations
# (their tables and seed rows). Safe to run again: both steps are no-ops then.
set -eu
psql="psql -h 127.0.0.1 -p $DB_PORT -U medcor -d postgres -v ON_ERROR_STOP=1 -qtA"
if [ -z "$($psql -c "select 1 from pg_database where datname = 'medcor'")" ]; then
  createdb -h 127.0.0.1 -p "$DB_PORT" -U medcor medcor
  echo "created database medcor"
fi
(cd medcor_backend && python manage.py migrate --no-input)
(cd medcor_backend2 && python manage.py migrate --no-input)
