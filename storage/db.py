"""Opening the database: which URL, which driver, which PRAGMAs, and migrating to head.

SQLite is the default (one file in the user's data directory); PostgreSQL is used when the
URL says so. Either way the schema is brought to the newest Alembic revision on open, so a
fresh install and an upgraded one behave the same.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from types import TracebackType

import platformdirs
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.inbox import Inbox
from storage.pragmas import install_sqlite_pragmas
from storage.repository import SqlStore

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Held while migrating on PostgreSQL so that workers starting together migrate one by one.
_PG_MIGRATION_LOCK = 0x706C616E626F74  # "planbot"


def default_database_url() -> str:
    """An SQLite file `planbot.db` in the user's data directory (created if missing)."""
    directory = Path(platformdirs.user_data_dir("planbot"))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{directory / 'planbot.db'}"


def normalize_url(url: str) -> str:
    """The async-driver form of a database URL.

    `postgres://` and `postgresql://` (as hosting providers hand them out) become
    `postgresql+asyncpg://`; `sqlite://` becomes `sqlite+aiosqlite://`. A URL that already
    names an async driver is returned unchanged.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(
            f"not a database URL: {url!r}; expected e.g. sqlite:///planbot.db or "
            "postgresql://user@host/dbname"
        )
    backend = scheme.lower().partition("+")[0]
    if backend in ("postgres", "postgresql"):
        # libpq's ?sslmode=require (as hosting providers write it) is asyncpg's ?ssl=require.
        rest = re.sub(r"([?&])sslmode=", r"\1ssl=", rest)
        return f"postgresql+asyncpg://{rest}"
    if backend == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    raise ValueError(
        f"unsupported database {scheme!r} in {url!r}: use sqlite:///path/to/planbot.db "
        "or postgresql://user@host/dbname"
    )


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration, built in code (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def _migrate_on(connection: Connection, revision: str, *, downgrade: bool = False) -> None:
    """Run Alembic on an open connection, in one transaction, one migrator at a time."""
    if connection.dialect.name == "sqlite":
        # Take the write lock before Alembic reads the current revision, and make the DDL
        # transactional (the sqlite3 module would otherwise run it in autocommit).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    config = alembic_config()
    config.attributes["connection"] = connection
    if downgrade:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_migrate_on, revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_migrate_on, revision, downgrade=True)


# PostgreSQL pool: a turn holds one connection for its load and one for its commit, and the
# inbox holds one per teacher being processed (the advisory lock), so with the inbox's 8
# teachers at once the pool must be larger than SQLAlchemy's default 5 + 10.
PG_POOL_SIZE = 20


def create_engine(url: str, *, pool_size: int = PG_POOL_SIZE) -> AsyncEngine:
    """The async engine for `url` (normalised), with the SQLite PRAGMAs installed; on
    PostgreSQL a pool of `pool_size` connections (and up to three times as many at a peak)."""
    normalized = normalize_url(url)
    if normalized.startswith("postgresql"):
        engine = create_async_engine(
            normalized,
            pool_size=pool_size,
            max_overflow=2 * pool_size,
            pool_timeout=10,
            # asyncpg prepares each statement once per connection and keeps it (the turn's
            # statements are a fixed handful); SQLAlchemy's own cache of the prepared ones:
            connect_args={"statement_cache_size": 256, "prepared_statement_cache_size": 256},
        )
        return engine
    engine = create_async_engine(normalized)
    install_sqlite_pragmas(engine.sync_engine)
    return engine


class Database:
    """An open database: the engine and the session store on it. Close it when done."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.store = SqlStore(engine)
        self.inbox = Inbox(engine)

    async def close(self) -> None:
        await self.store.close()
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


async def open_database(url: str, *, pool_size: int = PG_POOL_SIZE) -> Database:
    """Connect to `url`, bring the schema to the newest revision, and return the Database."""
    engine = create_engine(url, pool_size=pool_size)
    try:
        await upgrade(engine)
    except BaseException:
        await engine.dispose()
        raise
    return Database(engine)


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the schema at `url` (default: the SQLite file) to `revision`; for the CLI.
    Synchronous: call it outside a running event loop."""

    async def run() -> None:
        engine = create_engine(url or default_database_url())
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
