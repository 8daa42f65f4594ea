"""Slack: the plan in a DM with Block Kit buttons, the plans on App Home, the .docx in the chat.

A thin adapter over slack-bolt (async). Each handler turns a Slack payload into an `Inbound`,
`Conversation.handle` decides everything, and the `Outbound`s come back as Block Kit.

Slack wants an answer within three seconds. Every event, button press and slash command is
stored in the inbox first (bot/ordering.py) and acknowledged only once its row is committed —
over HTTP after checking the signature here, in Socket Mode before the envelope's ack — so a
worker killed after the ack loses nothing. The work then follows from the inbox: one teacher's
requests one at a time in arrival order, many teachers at once, through the Bolt app's
listeners. A retried event (X-Slack-Retry-Num) carries the same event_id as the first delivery:
it meets its inbox row (`slack:<event_id>`, also the turn's idempotency key) and changes nothing.

Two ways to run, same app: Socket Mode (the default; no public URL, what a school's IT can
run) and `--http` (Events API, interactivity and the slash command POSTed to /slack/events,
signature and timestamp checked by Bolt).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
import sys
from collections import OrderedDict
from collections.abc import Coroutine, Iterable, Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import texts
from bot.access import SlackTeamUnknown, slack_middleware, slack_refusal
from bot.app import Runtime, start_runtime
from bot.health import HEALTH_PATH, database_reachable
from bot.logging_setup import log_failure
from bot.ordering import InboxProcessor
from bot.reminders import slack_sender, start_background, stop_background
from bot.settings import Settings
from bot.textsplit import fit_text
from dialogs.buttons import NEW_PLAN
from dialogs.messages import Messages
from dialogs.reminder_actions import Coming
from dialogs.types import Inbound, InboundKind, Outbound, PlanSummary, UserRef
from storage.inbox import InboxEntry, InboxItem

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SLASH_COMMAND = "/handlingsplan"

# Slack's limits (Block Kit reference): a section's text, blocks per message / Home view,
# elements per actions block, a button's text. Escaping (& → &amp;) makes text longer; the
# escaped text is what must fit (bot/textsplit.py `fit_text`).
SECTION_LIMIT = 3000
MESSAGE_BLOCKS = 50
HOME_BLOCKS = 100
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
FALLBACK_TEXT = 3000
HOME_REMINDERS = 8  # one section of at most 3,000 characters
HOME_PLANS = 20  # 4 blocks each, below HOME_BLOCKS with the heading around them
SEEN_LIMIT = 10_000  # event ids / pressed messages remembered for de-duplication

Block = dict[str, Any]

# The errors of the request being processed from the inbox (Bolt hands a listener's exception
# to its error handler, not back to the caller).
_FAILURES: ContextVar[list[BaseException] | None] = ContextVar("planbot_slack", default=None)

_LINK = re.compile(r"<(?P<target>[^<>|]+)(?:\|(?P<label>[^<>]*))?>")


# --------------------------------------------------------------------------- text


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; everything else in mrkdwn is left as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def from_slack_text(text: str) -> str:
    """A DM's text as the teacher typed it: links and mentions Slack wrapped in <…> become
    their label (or the address), then &amp; &lt; &gt; are unescaped."""

    def plain(match: re.Match[str]) -> str:
        target, label = match.group("target"), match.group("label")
        if label:
            return label
        return target.removeprefix("mailto:").removeprefix("tel:")

    return _LINK.sub(plain, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _chunks(text: str) -> list[str]:
    """Escaped pieces of `text`, each within SECTION_LIMIT."""
    return fit_text(text, SECTION_LIMIT, render=escape_mrkdwn)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def _button(label: str, value: str, action_id: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": _short(label, BUTTON_TEXT), "emoji": True},
        "value": value,
        "action_id": action_id,
    }


def _batched(items: list[Block], size: int) -> Iterable[list[Block]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- rendering


def render_outbound(out: Outbound) -> list[list[Block]]:
    """The Block Kit messages for one Outbound (usually one; more when it would pass 50
    blocks). Heading bold, text as sections, note and progress as quieter context lines,
    choices as buttons whose value comes back as Inbound.choice."""
    blocks: list[Block] = []
    if out.heading:
        blocks.append(_section(f"*{_short(escape_mrkdwn(out.heading), SECTION_LIMIT - 2)}*"))
    blocks += [_section(chunk) for chunk in _chunks(out.text)]
    if out.note:
        blocks += [_context(chunk) for chunk in _chunks(out.note)]
    if out.progress:
        blocks += [_context(chunk) for chunk in _chunks(out.progress)]
    buttons = [
        _button(choice.label, choice.value, f"choice_{i}") for i, choice in enumerate(out.choices)
    ]
    blocks += [{"type": "actions", "elements": row} for row in _batched(buttons, ACTIONS_ELEMENTS)]
    return list(_batched(blocks, MESSAGE_BLOCKS))


def fallback_text(out: Outbound) -> str:
    """The `text` of a message with blocks: what notifications and screen readers show."""
    text = "\n".join(p for p in (out.heading, out.text) if p)
    if len(text) > FALLBACK_TEXT:  # cut before escaping, so no &amp; is cut in half
        text = text[: FALLBACK_TEXT - 1].rstrip() + "…"
    return escape_mrkdwn(text) or " "


def home_view(
    summaries: list[PlanSummary], msg: Messages, coming: Sequence[Coming] = ()
) -> dict[str, Any]:
    """The App Home tab: the teacher's plans with state and progress, and their buttons; then
    the reminders to come, when there are any."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": msg("slack.home.heading")}},
        _section(escape_mrkdwn(msg("slack.home.intro"))),
        {
            "type": "actions",
            "elements": [_button(msg("slack.button.new_plan"), NEW_PLAN, "home_new")],
        },
    ]
    if not summaries:
        blocks.append(_section(escape_mrkdwn(msg("slack.home.empty"))))
    for i, plan in enumerate(summaries[:HOME_PLANS]):
        title = f"*{escape_mrkdwn(_short(plan.title, 200))}*"
        if plan.active:
            title += f"  ·  _{escape_mrkdwn(msg('slack.home.active'))}_"
        line = msg(
            "slack.home.plan_line",
            template=plan.template_name,
            status=msg(f"slack.status.{plan.status.value}"),
            answered=plan.answered,
            total=plan.total,
        )
        updated = msg("slack.home.updated", date=plan.updated_at.date().isoformat())
        blocks += [
            {"type": "divider"},
            _section(f"{title}\n{escape_mrkdwn(line)}"),
            _context(escape_mrkdwn(updated)),
            {
                "type": "actions",
                "elements": [
                    _button(msg("slack.button.continue"), plan.open_value, f"home_open_{i}"),
                    _button(msg("slack.button.export"), plan.export_value, f"home_export_{i}"),
                ],
            },
        ]
    if len(summaries) > HOME_PLANS:
        more = msg("slack.home.more", count=len(summaries) - HOME_PLANS)
        blocks.append(_context(escape_mrkdwn(more)))
    blocks += _home_reminders(coming, msg)
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS]}


def _home_reminders(coming: Sequence[Coming], msg: Messages) -> list[Block]:
    """ "Påminnelser": what the bot will come back with, soonest first (at most a few)."""
    if not coming:
        return []
    lines = [
        f"• *{escape_mrkdwn(_short(c.title, 120))}*: {escape_mrkdwn(c.line)}"
        for c in coming[:HOME_REMINDERS]
    ]
    return [  # a header, not a divider: dividers separate one plan from the next
        {"type": "header", "text": {"type": "plain_text", "text": msg("reminders.heading")}},
        _section("\n".join(lines)),
        _context(escape_mrkdwn(msg("slack.home.reminders_note"))),
    ]


def _pressed_blocks(blocks: list[Block], chosen: str) -> list[Block]:
    """A pressed question: its text stays, its buttons go, a line says what was chosen."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, _context(escape_mrkdwn(chosen))][:MESSAGE_BLOCKS]


# --------------------------------------------------------------------------- the adapter


class _Seen:
    """A bounded set: the newest SEEN_LIMIT keys."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def add(self, key: str) -> bool:
        """Remember `key`; False when it was already there."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True

    def discard(self, key: str) -> None:
        self._keys.pop(key, None)


class SlackAdapter:
    """The Bolt app (`.app`) wired to one Runtime's Conversation."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self.runtime = runtime
        self.conversation = runtime.conversation
        self.gate = runtime.gate
        self.msg = texts.messages(settings)
        base_url = settings.slack_api_url
        client = AsyncWebClient(
            token=settings.slack_bot_token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            # A burst of questions can hit Slack's rate limit: wait as told and send again.
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            ],
        )
        # Requests reach the app from the inbox: their signature was checked when they
        # arrived (`web_app`), and the listeners run to the end before the dispatch returns.
        self.app = AsyncApp(
            name="planbot",
            client=client,
            signing_secret=settings.slack_signing_secret or None,
            request_verification_enabled=False,
            process_before_response=True,
        )
        self.client = client
        # Socket Mode needs no signing secret; HTTP mode refuses to start without one.
        self.verifier = (
            SignatureVerifier(settings.slack_signing_secret)
            if settings.slack_signing_secret
            else None
        )
        self.processor = InboxProcessor(
            runtime.database.inbox,
            self._process,
            self._notify,
            max_attempts=settings.inbox_attempts,
            sweep_every=settings.inbox_sweep_seconds,
            limit=settings.inbox_concurrency,
        )
        self._dms: dict[str, str] = {}
        self._home_users: set[str] = set()
        self._pressed = _Seen()
        self._register()

    # ---- handlers: parse, ack, hand over to a task

    def _register(self) -> None:
        app = self.app
        app.middleware(slack_middleware(self.gate, self.client, self.msg))

        @app.event("message")
        async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
            await self._on_message(event, str(body.get("event_id", "")))

        @app.event("app_home_opened")
        async def on_home_opened(event: dict[str, Any]) -> None:
            if event.get("tab") == "home" and event.get("user"):
                user_id = str(event["user"])
                self._home_users.add(user_id)
                await self._spawn(user_id, self._publish_home(user_id))

        @app.command(SLASH_COMMAND)
        async def on_command(ack: Any, command: dict[str, Any]) -> None:
            await ack()
            await self._on_command(command)

        @app.action(re.compile(r".+"))
        async def on_action(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
            await ack()
            await self._on_action(body, action)

    async def _on_message(self, event: dict[str, Any], event_id: str) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id"):
            return
        subtype = event.get("subtype")
        channel = str(event.get("channel", ""))
        user_id = str(event.get("user", ""))
        kind, text, media = InboundKind.TEXT, "", ""
        if subtype is None:
            text = from_slack_text(str(event.get("text", "")))
            if not text.strip():
                return
        elif subtype == "file_share" or event.get("files"):
            kind, media = InboundKind.UNSUPPORTED, _media_of(event.get("files") or [])
        elif subtype == "message_changed":
            edited, before = event.get("message") or {}, event.get("previous_message") or {}
            if edited.get("bot_id") or edited.get("text") == before.get("text"):
                return  # our own chat.update, or an unfurl: nothing the teacher wrote
            kind, media, user_id = InboundKind.UNSUPPORTED, "edited", str(edited.get("user", ""))
        else:
            return  # deletions, joins, bot messages...
        if not user_id or not event_id:
            return
        inbound = Inbound(
            user=_user(user_id), kind=kind, key=f"slack:{event_id}", text=text, media=media
        )
        self._dms.setdefault(user_id, channel)
        await self._spawn(user_id, self._converse(inbound))

    async def _on_command(self, command: dict[str, Any]) -> None:
        user_id = str(command.get("user_id", ""))
        text = str(command.get("text", "")).strip()
        key = f"slack:command:{command.get('trigger_id', '')}"
        if text:
            inbound = Inbound(
                user=_user(user_id),
                kind=InboundKind.TEXT,
                key=key,
                text=text if text.startswith("/") else "/" + text,
            )
        else:
            inbound = Inbound(user=_user(user_id), kind=InboundKind.START, key=key)
        await self._spawn(user_id, self._converse(inbound))

    async def _on_action(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user_id = str((body.get("user") or {}).get("id", ""))
        container = body.get("container") or {}
        value = str(action.get("value", ""))
        key = action_key(body, action)
        if container.get("type") == "view":  # a button on the App Home tab
            self._home_users.add(user_id)
            # The engine made the value (dialogs/buttons.py): passed through as it is.
            inbound = Inbound(user=_user(user_id), kind=InboundKind.CHOICE, key=key, choice=value)
            await self._spawn(user_id, self._converse(inbound))
            return
        channel = str(container.get("channel_id", ""))
        message_ts = str(container.get("message_ts", ""))
        pressed_key = f"{channel}:{message_ts}"
        if not self._pressed.add(pressed_key):
            return  # a second press before the buttons disappeared
        inbound = Inbound(user=_user(user_id), kind=InboundKind.CHOICE, key=key, choice=value)
        label = str((action.get("text") or {}).get("text", ""))
        message = body.get("message") or {}
        self._dms.setdefault(user_id, channel)
        try:
            await self._spawn(
                user_id,
                self._converse(inbound, pressed=(channel, message, label)),
            )
        finally:
            if _failures_now():
                self._pressed.discard(pressed_key)  # tried again from the inbox

    # ---- the work, run from the inbox (one teacher at a time, in arrival order)

    async def _spawn(self, user_id: str, work: Coroutine[Any, Any, None]) -> None:
        failures = _FAILURES.get()
        try:
            await work
        except Exception as exc:
            if failures is None:
                log_failure(logger, "Slack: an update", exc)
                return
            failures.append(exc)  # the inbox retries it, and tells the teacher if it gives up

    def start(self) -> None:
        """Take over what is waiting in the inbox, and sweep for what a dead worker left."""
        self.processor.start()

    async def drain(self) -> None:
        """Until every stored request is processed (tests, and a clean shutdown)."""
        await self.processor.drain()

    async def close(self) -> None:
        await self.processor.close()

    async def accept(self, item: InboxItem) -> None:
        """Store a request before it is acknowledged (see the module docstring)."""
        self.processor.start()
        await self.processor.accept(item)

    async def _process(self, entry: InboxEntry) -> None:
        stored = json.loads(entry.payload)
        mode = str(stored.get("mode", "http"))
        headers: dict[str, str | Sequence[str]] = {
            "content-type": [str(stored.get("content_type", "application/json"))]
        }
        request = AsyncBoltRequest(body=stored["body"], headers=headers, mode=mode)
        failures: list[BaseException] = []
        token = _FAILURES.set(failures)
        try:
            response = await self.app.async_dispatch(request)
        finally:
            _FAILURES.reset(token)
        if failures:
            raise failures[0]
        if response.status >= 500:
            raise RuntimeError(f"Slack request {entry.key}: Bolt answered {response.status}")

    async def _notify(self, entry: InboxEntry, what: str) -> None:
        user_id = entry.teacher.partition(":")[2]
        if user_id.startswith(("U", "W")):
            await self._post_text(await self._dm(user_id), self.msg(f"inbox.{what}"))

    async def _converse(
        self,
        inbound: Inbound,
        *,
        pressed: tuple[str, dict[str, Any], str] | None = None,
    ) -> None:
        user_id = inbound.user.external_id
        if pressed is not None:
            await self._mark_pressed(*pressed)
        try:
            outbounds = await self.conversation.handle(inbound)
        except Exception:
            if _FAILURES.get() is None:
                with contextlib.suppress(SlackApiError):
                    await self._post_text(await self._dm(user_id), self.msg("slack.error"))
            raise
        channel = await self._dm(user_id)
        for out in outbounds:
            await self._send(channel, user_id, out, ephemeral=pressed is not None)
        if user_id in self._home_users:
            await self._publish_home(user_id)

    async def _mark_pressed(self, channel: str, message: dict[str, Any], label: str) -> None:
        try:
            await self.client.chat_update(
                channel=channel,
                ts=str(message.get("ts", "")),
                text=str(message.get("text", "")) or " ",
                blocks=_pressed_blocks(
                    list(message.get("blocks") or []), self.msg("slack.chosen", label=label)
                ),
            )
        except SlackApiError as exc:
            logger.warning("Slack: could not update the pressed message: %s", exc)

    async def _dm(self, user_id: str) -> str:
        channel = self._dms.get(user_id)
        if channel is None:
            opened = await self.client.conversations_open(users=user_id)
            channel = self._dms[user_id] = str(opened["channel"]["id"])
        return channel

    async def _send(self, channel: str, user_id: str, out: Outbound, *, ephemeral: bool) -> None:
        for blocks in render_outbound(out) if (out.text or out.heading or out.choices) else []:
            if out.notice and ephemeral:
                await self.client.chat_postEphemeral(
                    channel=channel, user=user_id, text=fallback_text(out), blocks=blocks
                )
            else:
                await self.client.chat_postMessage(
                    channel=channel, text=fallback_text(out), blocks=blocks
                )
        document = out.document
        if document is not None:
            try:
                await self.client.files_upload_v2(
                    channel=channel,
                    file=document.data,
                    filename=document.filename,
                    title=document.title or document.filename,
                )
            except SlackApiError as exc:
                logger.warning("Slack: uploading %s failed: %s", document.filename, exc)
                await self._post_text(channel, self.msg("slack.upload_failed"))

    async def _post_text(self, channel: str, text: str) -> None:
        with contextlib.suppress(SlackApiError):
            await self.client.chat_postMessage(
                channel=channel, text=escape_mrkdwn(text), blocks=[_section(escape_mrkdwn(text))]
            )

    async def _publish_home(self, user_id: str) -> None:
        summaries = await self.conversation.summaries(_user(user_id))
        coming = await self.conversation.upcoming_reminders(_user(user_id))
        view = home_view(summaries, self.msg, coming)
        await self.client.views_publish(user_id=user_id, view=view)

    # ---- HTTP mode

    def web_app(self) -> web.Application:
        """Events API, interactivity and the slash command, all POSTed to /slack/events."""

        async def handle(request: web.Request) -> web.Response:
            body = await request.text()
            if self.verifier is None or not self.verifier.is_valid(
                body,
                request.headers.get("X-Slack-Request-Timestamp", ""),
                request.headers.get("X-Slack-Signature", ""),
            ):
                return web.Response(status=401)
            content_type = request.headers.get("Content-Type", "application/json")
            parsed = http_payload(body, content_type)
            if parsed is not None and isinstance(parsed[1], dict):
                try:
                    refused = await slack_refusal(self.gate, self.client, self.msg, parsed[1])
                except SlackTeamUnknown:  # not stored, not acknowledged: Slack sends it again
                    return web.Response(status=503)
                if refused is not None:  # another workspace: answered here, nothing stored
                    return web.Response(status=200, text=refused)
            item = http_item(body, content_type)
            if item is None:  # url_verification, ssl_check: Bolt answers those itself
                bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
                return await to_aiohttp_response(bolt_response)
            try:
                await self.accept(item)
            except Exception as exc:  # not stored: no ack, so that Slack sends it again
                logger.warning("Slack: %s not stored, not acknowledged: %s", item.key, exc)
                return web.Response(status=503)
            return web.Response(status=200)

        async def health(request: web.Request) -> web.Response:
            ok = await database_reachable(self.runtime.database)
            return web.Response(status=200 if ok else 503, text="ok\n" if ok else "database\n")

        application = web.Application()
        application.router.add_post(EVENTS_PATH, handle)
        application.router.add_get(HEALTH_PATH, health)
        return application


CLOSE_TIMEOUT = 5.0  # seconds to close the socket on the way out


async def _until_stopped(work: Coroutine[Any, Any, Any], stop: asyncio.Event) -> bool:
    """Run `work` unless `stop` is set first (then cancel it): True when it finished."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return False


def _user(user_id: str) -> UserRef:
    return UserRef(channel="slack", external_id=user_id)


def _failures_now() -> bool:
    failures = _FAILURES.get()
    return bool(failures)


def action_key(body: dict[str, Any], action: dict[str, Any]) -> str:
    """A button press's idempotency key (and inbox key)."""
    container = body.get("container") or {}
    action_id = str(action.get("action_id", ""))
    press = body.get("trigger_id") or action.get("action_ts", "")
    if container.get("type") == "view":
        return f"slack:action:{container.get('view_id', '')}:{action_id}:{press}"
    return f"slack:action:{container.get('message_ts', '')}:{action_id}:{press}"


def request_key(kind: str, payload: dict[str, Any]) -> tuple[str, str] | None:
    """(inbox key, teacher's user id) of an Events API callback ("events_api"), a button
    press ("interactive") or a slash command ("slash_commands"); None for anything else."""
    if kind == "events_api" and payload.get("type") == "event_callback":
        event = payload.get("event") or {}
        user = event.get("user") or (event.get("message") or {}).get("user") or ""
        event_id = str(payload.get("event_id", ""))
        return (f"slack:{event_id}", str(user)) if event_id else None
    if kind == "interactive" and payload.get("type") == "block_actions":
        actions = payload.get("actions") or [{}]
        user = (payload.get("user") or {}).get("id", "")
        return action_key(payload, actions[0]), str(user)
    if kind == "slash_commands" and payload.get("command"):
        trigger = payload.get("trigger_id", "")
        return f"slack:command:{trigger}", str(payload.get("user_id", ""))
    return None


def _item(key: str, user: str, mode: str, body: object, content_type: str) -> InboxItem:
    return InboxItem(
        platform="slack",
        key=key,
        update_id=key.removeprefix("slack:"),
        teacher=f"slack:{user or key}",
        payload=json.dumps(
            {"mode": mode, "content_type": content_type, "body": body}, ensure_ascii=False
        ),
    )


def http_payload(body: str, content_type: str) -> tuple[str, Any] | None:
    """(kind, payload) of an HTTP request Slack POSTed, or None when it is not readable."""
    try:
        if content_type.startswith("application/json"):
            return "events_api", json.loads(body)
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if "payload" in form:
            return "interactive", json.loads(form["payload"])
        return "slash_commands", form
    except ValueError:
        return None


def http_item(body: str, content_type: str) -> InboxItem | None:
    """The inbox row for an HTTP request Slack POSTed (signature already checked)."""
    parsed = http_payload(body, content_type)
    if parsed is None:
        return None
    kind, payload = parsed
    found = request_key(kind, payload) if isinstance(payload, dict) else None
    if found is None:
        return None
    return _item(*found, "http", body, content_type)


def socket_item(request: SocketModeRequest) -> InboxItem | None:
    """The inbox row for a Socket Mode envelope."""
    found = request_key(request.type, request.payload)
    if found is None:
        return None
    return _item(*found, "socket_mode", request.payload, "application/json")


class InboxSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, storing each envelope before acking it."""

    def __init__(self, adapter: SlackAdapter, app_token: str) -> None:
        super().__init__(adapter.app, app_token)
        self.adapter = adapter

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        item = socket_item(req)
        if item is None:
            await super().handle(client, req)  # type: ignore[arg-type]
            return
        if isinstance(req.payload, dict):
            adapter = self.adapter
            try:
                refused = await slack_refusal(
                    adapter.gate, adapter.client, adapter.msg, req.payload
                )
            except SlackTeamUnknown:
                return  # not acknowledged: Slack sends the envelope again
            if refused is not None:  # another workspace: answered here, nothing stored
                payload = {"text": refused} if refused else None
                await client.send_socket_mode_response(
                    SocketModeResponse(envelope_id=req.envelope_id, payload=payload)
                )
                return
        try:
            await self.adapter.accept(item)
        except Exception as exc:  # not stored: no ack, so that Slack sends it again
            logger.warning("Slack: %s not stored, not acknowledged: %s", item.key, exc)
            return
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


def _media_of(files: list[dict[str, Any]]) -> str:
    images = [f for f in files if str(f.get("mimetype", "")).startswith("image/")]
    return "photo" if files and len(images) == len(files) else "document"


# --------------------------------------------------------------------------- running


def missing_setting(settings: Settings, *, http: bool) -> str | None:
    """The message key for the first token or secret the chosen mode lacks."""
    if not settings.slack_bot_token:
        return "slack.missing.bot_token"
    if http and not settings.slack_signing_secret:
        return "slack.missing.signing_secret"
    if not http and not settings.slack_app_token:
        return "slack.missing.app_token"
    return None


def run(
    settings: Settings, *, http: bool = False, port: int = 3000, listen: str = "127.0.0.1"
) -> int:
    """`planbot slack [--http --port N]`: serve until Ctrl-C / SIGTERM; the exit code."""
    missing = missing_setting(settings, http=http)
    if missing is not None:
        print(texts.messages(settings)(missing), file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, http=http, port=port, listen=listen))
    return 0


async def serve(
    settings: Settings,
    *,
    http: bool = False,
    port: int = 3000,
    listen: str = "127.0.0.1",
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Run the app in Socket Mode or over HTTP until `stop` is set (default: a signal)."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
    runtime = await start_runtime(settings)
    adapter = SlackAdapter(settings, runtime)
    reminders = start_background(runtime.reminders, {"slack": slack_sender(adapter.client)})
    adapter.start()
    try:
        if http:
            runner = web.AppRunner(adapter.web_app(), handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, listen, port).start()
            logger.info("Slack over HTTP on http://%s:%s%s", listen, port, EVENTS_PATH)
            try:
                if started is not None:
                    started.set()
                await stop.wait()
            finally:
                await runner.cleanup()
        else:
            handler = InboxSocketModeHandler(adapter, settings.slack_app_token)
            try:
                # Connecting retries for as long as Slack is unreachable: a signal must still
                # stop it (it used to wait out the retries).
                if await _until_stopped(handler.connect_async(), stop):  # type: ignore[no-untyped-call]
                    logger.info("Slack in Socket Mode")
                    if started is not None:
                        started.set()
                    await stop.wait()
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(handler.close_async(), CLOSE_TIMEOUT)  # type: ignore[no-untyped-call]
        await adapter.drain()
    finally:
        await stop_background(reminders)
        await adapter.close()
        await runtime.close()
