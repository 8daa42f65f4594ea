"""Fixtures of the fault tests: a PostgreSQL database of their own per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

POSTGRES_URL = os.environ.get(
    "PLANBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database for this test, dropped after it."""
    name = f"planbot_faults_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(POSTGRES_URL)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc!r})", pytrace=False)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
