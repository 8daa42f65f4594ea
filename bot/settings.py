"""Settings from the environment or `.env` (pydantic-settings), prefixed PLANBOT_, plus Slack's
own conventional SLACK_BOT_TOKEN / SLACK_APP_TOKEN / SLACK_SIGNING_SECRET.

The API base URLs stay settable: they are how anyone tests the bot offline.
"""

from __future__ import annotations

from pathlib import Path

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
