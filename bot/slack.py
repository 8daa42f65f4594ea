"""Slack: the plan in a DM with Block Kit buttons, the plans on App Home, the .docx in the chat.

A thin adapter over slack-bolt (async). Each handler turns a Slack payload into an `Inbound`,
`Conversation.handle` decides everything, and the `Outbound`s come back as Block Kit.

Slack wants an answer within three seconds, so every request is acknowledged at once and the
work runs afterwards in a task. One teacher's tasks run one at a time (an `asyncio.Lock` per
user id), in the order Slack delivered them. A retried event (X-Slack-Retry-Num) carries the
same event_id as the first delivery: it is dropped here when this process saw it, and the
engine's idempotency key (`slack:<event_id>`) makes it change nothing otherwise.

Two ways to run, same app: Socket Mode (the default; no public URL, what a school's IT can
run) and `--http` (Events API, interactivity and the slash command POSTed to /slack/events,
signature and timestamp checked by Bolt).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
from collections import OrderedDict
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Runtime, start_runtime
from bot.reminders import slack_sender, start_background, stop_background
from bot.settings import Settings
from bot.textsplit import split_text
from dialogs.buttons import NEW_PLAN
from dialogs.messages import Messages
from dialogs.reminder_actions import Coming
from dialogs.types import Inbound, InboundKind, Outbound, PlanSummary, UserRef

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SLASH_COMMAND = "/handlingsplan"

# Slack's limits (Block Kit reference): a section's text, blocks per message / Home view,
# elements per actions block, a button's text. Text is split below the limit because escaping
# (& → &amp;) makes it longer.
SECTION_LIMIT = 3000
SPLIT_AT = 2800
MESSAGE_BLOCKS = 50
HOME_BLOCKS = 100
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
FALLBACK_TEXT = 3000
HOME_REMINDERS = 8  # one section of at most 3,000 characters
HOME_PLANS = 20  # 4 blocks each, below HOME_BLOCKS with the heading around them
SEEN_LIMIT = 10_000  # event ids / pressed messages remembered for de-duplication

Block = dict[str, Any]

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
    out: list[str] = []
    limit = SPLIT_AT
    pending = [p for p in split_text(text, limit) if p.strip()]
    while pending:
        piece = pending.pop(0)
        escaped = escape_mrkdwn(piece)
        if len(escaped) <= SECTION_LIMIT:
            out.append(escaped)
        else:  # full of & < >: split the plain text smaller
            pending[:0] = split_text(piece, max(1, len(piece) // 2))
    return out


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
        self.conversation = runtime.conversation
        self.msg = Messages.load(settings.language)
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
        self.app = AsyncApp(
            name="planbot",
            client=client,
            signing_secret=settings.slack_signing_secret,
            process_before_response=False,
        )
        self.client = client
        self._locks: dict[str, asyncio.Lock] = {}
        self._dms: dict[str, str] = {}
        self._home_users: set[str] = set()
        self._events = _Seen()
        self._pressed = _Seen()
        self._tasks: set[asyncio.Task[None]] = set()
        self._register()

    # ---- handlers: parse, ack, hand over to a task

    def _register(self) -> None:
        app = self.app

        @app.event("message")
        async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
            self._on_message(event, str(body.get("event_id", "")))

        @app.event("app_home_opened")
        async def on_home_opened(event: dict[str, Any]) -> None:
            if event.get("tab") == "home" and event.get("user"):
                user_id = str(event["user"])
                self._home_users.add(user_id)
                self._spawn(user_id, self._publish_home(user_id))

        @app.command(SLASH_COMMAND)
        async def on_command(ack: Any, command: dict[str, Any]) -> None:
            await ack()
            self._on_command(command)

        @app.action(re.compile(r".+"))
        async def on_action(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
            await ack()
            self._on_action(body, action)

    def _on_message(self, event: dict[str, Any], event_id: str) -> None:
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
        if not user_id or not event_id or not self._events.add(event_id):
            return
        inbound = Inbound(
            user=_user(user_id), kind=kind, key=f"slack:{event_id}", text=text, media=media
        )
        self._dms.setdefault(user_id, channel)
        self._spawn(user_id, self._converse(inbound, event_id=event_id))

    def _on_command(self, command: dict[str, Any]) -> None:
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
        self._spawn(user_id, self._converse(inbound))

    def _on_action(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user_id = str((body.get("user") or {}).get("id", ""))
        container = body.get("container") or {}
        action_id = str(action.get("action_id", ""))
        value = str(action.get("value", ""))
        press = body.get("trigger_id") or action.get("action_ts", "")
        if container.get("type") == "view":  # a button on the App Home tab
            key = f"slack:action:{container.get('view_id', '')}:{action_id}:{press}"
            self._home_users.add(user_id)
            # The engine made the value (dialogs/buttons.py): passed through as it is.
            inbound = Inbound(user=_user(user_id), kind=InboundKind.CHOICE, key=key, choice=value)
            self._spawn(user_id, self._converse(inbound))
            return
        channel = str(container.get("channel_id", ""))
        message_ts = str(container.get("message_ts", ""))
        if not self._pressed.add(f"{channel}:{message_ts}"):
            return  # a second press before the buttons disappeared
        key = f"slack:action:{message_ts}:{action_id}:{press}"
        inbound = Inbound(user=_user(user_id), kind=InboundKind.CHOICE, key=key, choice=value)
        label = str((action.get("text") or {}).get("text", ""))
        message = body.get("message") or {}
        self._dms.setdefault(user_id, channel)
        self._spawn(
            user_id,
            self._converse(inbound, pressed=(channel, message, label)),
        )

    # ---- the work after the ack

    def _spawn(self, user_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._in_order(user_id, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in_order(self, user_id: str, work: Coroutine[Any, Any, None]) -> None:
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            try:
                await work
            except Exception:
                logger.exception("Slack: handling an update for %s failed", user_id)

    async def drain(self) -> None:
        """Until no work is left (tests, and a clean shutdown)."""
        while True:
            await asyncio.sleep(0.02)  # let Bolt's own listener tasks hand over their work
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _converse(
        self,
        inbound: Inbound,
        *,
        event_id: str = "",
        pressed: tuple[str, dict[str, Any], str] | None = None,
    ) -> None:
        user_id = inbound.user.external_id
        if pressed is not None:
            await self._mark_pressed(*pressed)
        try:
            outbounds = await self.conversation.handle(inbound)
        except Exception:
            if event_id:
                self._events.discard(event_id)  # let Slack's retry try again
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
            bolt_request = await to_bolt_request(request)
            bolt_response = await self.app.async_dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)

        application = web.Application()
        application.router.add_post(EVENTS_PATH, handle)
        return application


def _user(user_id: str) -> UserRef:
    return UserRef(channel="slack", external_id=user_id)


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
        print(Messages.load(settings.language)(missing), file=sys.stderr)
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
            handler = AsyncSocketModeHandler(adapter.app, settings.slack_app_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            logger.info("Slack in Socket Mode")
            try:
                if started is not None:
                    started.set()
                await stop.wait()
            finally:
                await handler.close_async()  # type: ignore[no-untyped-call]
        await adapter.drain()
    finally:
        await stop_background(reminders)
        await runtime.close()
