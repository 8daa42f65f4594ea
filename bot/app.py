"""Wiring: settings → database (storage/) → Conversation (dialogs/) with the .docx renderer
(exports/). Every channel starts from `start_runtime` and ends with `Runtime.close`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from dialogs.messages import Messages
from dialogs.service import Conversation
from dialogs.template import PROMPTS_DIR, load_templates
from exports.docx import render_document
from storage.db import Database, default_database_url, open_database


@dataclass
class Runtime:
    settings: Settings
    database: Database
    conversation: Conversation

    async def close(self) -> None:
        await self.database.close()


async def start_runtime(settings: Settings) -> Runtime:
    templates = load_templates(settings.prompts_dir or PROMPTS_DIR, settings.language)
    messages = Messages.load(settings.language, (settings.prompts_dir or PROMPTS_DIR) / "messages")
    database = await open_database(
        settings.database_url or default_database_url(), pool_size=settings.db_pool_size
    )
    conversation = Conversation(
        database.store,
        templates,
        render_document,
        messages=messages,
        retry_budget=settings.conflict_retry_seconds,
    )
    return Runtime(settings, database, conversation)
