"""Settings from the environment or `.env` (pydantic-settings), prefixed PLANBOT_, plus Slack's
own conventional SLACK_BOT_TOKEN / SLACK_APP_TOKEN / SLACK_SIGNING_SECRET.

The API base URLs stay settable: they are how anyone tests the bot offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PLANBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Empty: an SQLite file in the user's data directory (storage.db.default_database_url).
    database_url: str = ""
    language: str = "sv"
    # Where the terminal channel saves documents.
    export_dir: Path = Path(".")
    # Plan templates and message texts; the repository's prompts/ unless set.
    prompts_dir: Path | None = None
    # An organisation's own Word layouts (docxtpl): `<template id>.docx` in this folder is used
    # for that template, e.g. handlingsplan.docx (docs/layout.md).
    layouts_dir: Path | None = None

    # Several workers (README "Several workers"): the inbox and the database under load.
    # Failed attempts before an update is parked (and the teacher told).
    inbox_attempts: int = 3
    # How often a worker looks for updates another (dead) worker left in the inbox.
    inbox_sweep_seconds: float = 1.0
    # Teachers whose updates one worker processes at once.
    inbox_concurrency: int = 8
    # PostgreSQL connections a worker keeps open (and up to three times as many at a peak).
    db_pool_size: int = 20
    # How long a turn keeps retrying when the teacher's data changed under it (another
    # worker committed first), with jittered backoff.
    conflict_retry_seconds: float = 10.0

    # Messages that arrive this many seconds or less after a free-text answer are added to
    # it (paragraphs sent as separate messages on a phone); 0 turns that off. The terminal
    # never needs it: a pasted text is one message there.
    burst_seconds: float = Field(default=3.0, ge=0, le=30)

    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_secret: str = ""

    slack_api_url: str = "https://slack.com/api/"
    slack_bot_token: str = Field(
        default="", validation_alias=AliasChoices("SLACK_BOT_TOKEN", "PLANBOT_SLACK_BOT_TOKEN")
    )
    slack_app_token: str = Field(
        default="", validation_alias=AliasChoices("SLACK_APP_TOKEN", "PLANBOT_SLACK_APP_TOKEN")
    )
    slack_signing_secret: str = Field(
        default="",
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "PLANBOT_SLACK_SIGNING_SECRET"),
    )

    # ---- deployment (docs/dataskydd.md, README "Deploying")
    # "invite": a Telegram teacher needs an invitation code, Slack only the installed
    # workspace(s); "open": anyone who finds the bot. The terminal channel needs neither.
    access: Literal["invite", "open"] = "invite"
    # Slack team ids allowed besides the one the bot token belongs to (comma-separated).
    slack_team_ids: str = ""
    # Plans untouched this many months after they were finished are deleted (0: kept).
    retention_months: int = Field(default=0, ge=0)
    # How many days before that deletion the teacher is told.
    retention_notice_days: int = Field(default=14, ge=1)
    # Logs: "text" or "json" lines; the level (default INFO, WARNING for `planbot chat`).
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["", "DEBUG", "INFO", "WARNING", "ERROR"] = ""
    # Mixed into the pseudonymous user id in logs (set it to make ids unguessable).
    log_salt: str = ""
