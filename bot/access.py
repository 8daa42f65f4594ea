"""Who may use the bot, checked in the channel adapter before anything is stored.

A deployment is closed by default (PLANBOT_ACCESS=invite):
- Telegram: a teacher is admitted by an invitation code, usually through the link
  `https://t.me/<bot>?start=<code>` that `planbot invite` prints (Telegram sends it as
  "/start <code>"); an admitted teacher stays admitted.
- Slack: only the workspace(s) the app is installed in — the bot token's team (auth.test)
  and any in PLANBOT_SLACK_TEAM_IDS.
Anyone else gets one polite Swedish sentence; only a per-channel counter is stored.
PLANBOT_ACCESS=open lets everyone in. The terminal channel is local and never asks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.settings import Settings
from dialogs.messages import Messages
from storage.access import AccessStore

log = logging.getLogger(__name__)


class SlackTeamUnknown(Exception):
    """The installed workspace could not be learned (auth.test failed, no
    PLANBOT_SLACK_TEAM_IDS): a request can be neither admitted nor refused yet."""


class Gate:
    def __init__(self, settings: Settings, store: AccessStore) -> None:
        self.open = settings.access == "open"
        self.store = store
        self.slack_teams = {t.strip() for t in settings.slack_team_ids.split(",") if t.strip()}
        self._slack_team_asked = False

    async def is_member(self, channel: str, external_id: str) -> bool:
        # Asked every time (one primary-key lookup): a teacher who deleted all their data
        # with /radera is no longer a member.
        return self.open or await self.store.is_member(channel, external_id)

    async def redeem(self, code: str, channel: str, external_id: str) -> str | None:
        return await self.store.redeem(code, channel, external_id)

    async def refuse(self, channel: str) -> None:
        try:
            await self.store.refused(channel)
        except Exception as exc:  # the counter is not worth a failed reply
            log.warning("refusal not counted: %s", exc)

    async def slack_team_allowed(self, team: str, auth_test: Callable[[], Awaitable[Any]]) -> bool:
        if self.open:
            return True
        if team and team in self.slack_teams:
            return True
        if not self._slack_team_asked:
            try:
                response = await auth_test()
                self.slack_teams.add(str(response.get("team_id", "")))
                self._slack_team_asked = True
            except Exception as exc:
                log.warning("Slack auth.test failed, team unknown: %s", exc)
                if not self.slack_teams:
                    # Nothing to compare with: refusing would turn the school's own teachers
                    # away. Not acknowledged, so Slack delivers it again.
                    raise SlackTeamUnknown(str(exc)) from exc
        return bool(team) and team in self.slack_teams


# --------------------------------------------------------------------------- Telegram


async def telegram_admits(gate: Gate, update: Any, bot: Any, msg: Messages) -> bool:
    """True when the update may go on to the conversation. Otherwise the sender was told
    (one sentence) and counted. "/start <code>" with a valid code admits the sender."""
    if gate.open:
        return True
    user_id = str(update.effective_user.id)
    if await gate.is_member("telegram", user_id):
        return True
    message = update.message
    text = (message.text or "") if message is not None else ""
    parts = text.split()
    reply = msg("access.refused")
    if len(parts) == 2 and parts[0].split("@")[0] == "/start":
        org = await gate.redeem(parts[1], "telegram", user_id)
        if org is not None:
            await _telegram_say(bot, update.effective_chat.id, msg("access.welcome", org=org))
            return True
        reply = msg("access.bad_code")
    await gate.refuse("telegram")
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except Exception as exc:
            log.debug("callback not answered: %s", exc)
    await _telegram_say(bot, update.effective_chat.id, reply)
    return False


async def _telegram_say(bot: Any, chat_id: int, text: str) -> None:
    try:
        await bot.send_message(chat_id, text)
    except Exception as exc:
        log.warning("could not tell chat: %s", exc)


# --------------------------------------------------------------------------- Slack


def slack_team_of(body: dict[str, Any]) -> str:
    """The sender's workspace: a Slack Connect DM carries the foreign team on the event."""
    event = body.get("event") or {}
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    team = body.get("team") if isinstance(body.get("team"), dict) else {}
    for candidate in (
        event.get("user_team"),
        event.get("team"),
        (user or {}).get("team_id"),
        (team or {}).get("id"),
        body.get("team_id"),
    ):
        if candidate:
            return str(candidate)
    return ""


async def slack_refusal(gate: Gate, client: Any, msg: Messages, body: dict[str, Any]) -> str | None:
    """None when the request may go on. Otherwise the sender's workspace is not served: the
    refusal is counted, a DM gets the one sentence, and the text for the HTTP answer is
    returned (the sentence for a slash command, shown to the sender only; "" otherwise).
    Called at the door, before the request is stored, so nothing of theirs is kept."""
    if gate.open or body.get("type") in ("url_verification", "ssl_check"):
        return None
    if await gate.slack_team_allowed(slack_team_of(body), client.auth_test):
        return None
    await gate.refuse("slack")
    text = msg("access.slack_foreign")
    if body.get("command"):
        return text
    event = body.get("event") or {}
    if event.get("type") == "message" and event.get("channel") and not event.get("bot_id"):
        try:
            await client.chat_postMessage(channel=event["channel"], text=text)
        except Exception as exc:
            log.debug("foreign workspace not told: %s", exc)
    return ""


def slack_middleware(gate: Gate, client: Any, msg: Messages) -> Any:
    """A Bolt middleware (after Bolt's signature check), for a request that reached Bolt
    without passing the door (a test's direct dispatch): the same refusal as there."""
    from slack_bolt.response import BoltResponse

    async def only_installed_workspaces(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> Any:
        refused = await slack_refusal(gate, client, msg, body)
        if refused is None:
            return await next()
        return BoltResponse(status=200, body=refused)

    return only_installed_workspaces
