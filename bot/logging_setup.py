"""Logs: the same for every channel. One line per turn (channel, pseudonymous user id, plan
id, event, outcome, duration in ms; never what the teacher wrote), as text or as JSON lines
(PLANBOT_LOG_FORMAT=json), on stderr.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sys
from typing import Any

from bot.settings import Settings
from dialogs.service import Turn
from dialogs.types import UserRef

turn_log = logging.getLogger("planbot.turn")

# Attributes every LogRecord has; anything else was passed in `extra=` and goes in the JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(settings: Settings, *, default_level: str = "INFO") -> None:
    """Root logging for a command: one handler on stderr, text or JSON."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level or default_level)
    # httpx logs every request URL at INFO, and a Telegram URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Alembic tells of every plugin and of its DDL mode at INFO: noise on each start.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Bolt reads SLACK_BOT_TOKEN itself and warns that the client we give it wins: it does.
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _DropBoltTokenNotice) for f in bolt.filters):
        bolt.addFilter(_DropBoltTokenNotice())


class _DropBoltTokenNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def pseudonym(user: UserRef, salt: str = "") -> str:
    """A stable id for a teacher in the logs that does not name them: an admin who knows the
    platform id (and the salt) can find their lines, a reader of the logs cannot."""
    digest = hashlib.sha256(f"{salt}:{user.channel}:{user.external_id}".encode()).hexdigest()
    return digest[:12]


def turn_logger(settings: Settings) -> Any:
    """The `Conversation.on_turn` callback: one log line per turn."""

    def log_turn(turn: Turn) -> None:
        fields = {
            "channel": turn.user.channel,
            "user": pseudonym(turn.user, settings.log_salt),
            "plan": turn.plan_id,
            "event": turn.event,
            "outcome": turn.outcome,
            "duration_ms": turn.duration_ms,
        }
        text = " ".join(f"{k}={v}" for k, v in fields.items() if v != "")
        if turn.error:
            fields["error"] = turn.error
            turn_log.error("turn %s error=%s", text, turn.error, extra=fields)
        else:
            turn_log.info("turn %s", text, extra=fields)

    return log_turn


def error_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line, its type and the first line of its message (what a
    log or the inbox keeps: not the whole text it may quote)."""
    first = next((ln for ln in str(exc).splitlines() if ln.strip()), "")
    return f"{type(exc).__name__}: {first.strip()}"[:limit] if first else type(exc).__name__


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """A failure as one ERROR line (the traceback at DEBUG); nothing more when the turn's own
    log line already said it."""
    logger.debug("%s failed", what, exc_info=exc)
    if not getattr(exc, "planbot_turn_reported", False):
        logger.error("%s failed: %s", what, error_line(exc))
