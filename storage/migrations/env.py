"""Alembic environment for planbot.

Two ways in: `storage.db` hands over an open connection in `config.attributes["connection"]`
(how the application and tests migrate, inside their own transaction and lock); the
`alembic` command line gets none and connects itself, to `sqlalchemy.url` from the ini file
or else the default SQLite file.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import default_database_url, normalize_url
from storage.models import Base
from storage.pragmas import install_sqlite_pragmas

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables for later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def do_run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    install_sqlite_pragmas(engine.sync_engine)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_offline(url: str) -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        do_run_migrations(given)
        return
    url = normalize_url(config.get_main_option("sqlalchemy.url") or default_database_url())
    if context.is_offline_mode():
        run_migrations_offline(url)
    else:
        asyncio.run(run_async_migrations(url))


main()
