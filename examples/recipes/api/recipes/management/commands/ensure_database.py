"""`manage.py ensure_database`: create the database DATABASE_URL names when it does not
exist yet. initdb only makes the `postgres` maintenance database, and `migrate` needs
its own to connect to; rerunning is a no-op."""

from __future__ import annotations

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from psycopg import sql


class Command(BaseCommand):
    help = "Create the default database if it does not exist."
    requires_system_checks = []

    def handle(self, *args: object, **options: object) -> None:
        settings = connections["default"].settings_dict
        name = settings["NAME"]
        try:
            # CREATE DATABASE cannot run inside a transaction: autocommit.
            with psycopg.connect(
                dbname="postgres",
                user=settings["USER"] or None,
                password=settings["PASSWORD"] or None,
                host=settings["HOST"] or None,
                port=settings["PORT"] or None,
                connect_timeout=5,
                autocommit=True,
            ) as conn:
                found = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                if found:
                    self.stdout.write(f"database {name} exists")
                    return
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise CommandError(f"cannot create database {name}: {exc}".strip()) from exc
        self.stdout.write(f"created database {name}")
