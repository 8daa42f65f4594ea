"""`/healthz` for the webhook and HTTP modes: 200 when the database answers, else 503."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text

from storage.db import Database

log = logging.getLogger(__name__)
TIMEOUT = 5.0
HEALTH_PATH = "/healthz"


async def database_reachable(database: Database) -> bool:
    try:
        async with asyncio.timeout(TIMEOUT), database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("health check: database unreachable: %s", exc)
        return False
