"""The Telegram channel: python-telegram-bot 22 in front of the `Conversation`.

Update → Inbound → `Conversation.handle` → [Outbound] → Telegram messages. Nothing here knows
what a plan is; this file only translates:

- private text → TEXT ("/start" → START; "/hjalp@planbot" → "/hjalp"), a pressed button →
  CHOICE, a photo/sticker/voice/... or an edited old message → UNSUPPORTED. The idempotency key
  is the update_id, so a webhook call Telegram re-delivers changes nothing.
- groups and channels get one line asking the teacher to write privately; the engine never
  sees them.
- an Outbound becomes HTML (heading bold, note and progress in italics, every text escaped),
  split so no message passes 4,096 characters, its choices an inline keyboard on the last
  part. A pressed button's keyboard is removed at once, so it cannot be pressed twice; a
  `notice` answering a press becomes the callback answer (the small toast) instead of a message.
- a document comes with the "sending a file…" chat action while it is rendered.

Every update is stored in the inbox before Telegram hears it arrived (bot/ordering.py): the
webhook server here answers 200 only after the row is committed (PTB's own webhook server
answers before processing, so a worker killed then lost the update), and long polling stores a
batch before the next getUpdates confirms its offset. Processing follows from the inbox through
PTB's Application with `OrderedUpdateProcessor`: one teacher's updates in arrival order, many
teachers at once. Several processes behind one webhook share the database (PostgreSQL), so they
need the same PLANBOT_TELEGRAM_WEBHOOK_SECRET (without it each start makes up its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import json
import logging
import re
import secrets
import signal
import sys
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from bot import texts
from bot.access import Gate, telegram_admits
from bot.app import Runtime, start_runtime
from bot.health import HEALTH_PATH, database_reachable
from bot.logging_setup import log_failure
from bot.ordering import InboxProcessor, OrderedUpdateProcessor
from bot.reminders import start_background, stop_background, telegram_sender
from bot.settings import Settings
from bot.textsplit import fit_text
from dialogs.messages import Messages
from dialogs.service import Conversation
from dialogs.types import Choice, Inbound, InboundKind, Outbound, UserRef
from storage.inbox import InboxEntry, InboxItem

log = logging.getLogger(__name__)

TelegramApp: TypeAlias = "Application[Any, Any, Any, Any, Any, Any]"
T = TypeVar("T")

MESSAGE_LIMIT = 4096  # characters of a message, after entity parsing
CALLBACK_DATA_LIMIT = 64  # bytes
CALLBACK_ANSWER_LIMIT = 200  # characters of the toast answering a pressed button
SHORT_LABEL = 14  # buttons this short go two to a row
FLOOD_ATTEMPTS = 3  # Telegram's "retry after N seconds": wait and send again, this often
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "channel_post"]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

# Which attribute of a Message says what arrived instead of text, in the engine's words.
MEDIA_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("photo", "photo"),
    ("sticker", "sticker"),
    ("voice", "voice"),
    ("audio", "audio"),
    ("animation", "video"),  # before "document": a GIF carries both
    ("video", "video"),
    ("video_note", "video"),
    ("document", "document"),
    ("venue", "location"),
    ("location", "location"),
    ("contact", "contact"),
)
_COMMAND_MENTION = re.compile(r"^(/[^\s@]+)@\S+")


# --------------------------------------------------------------------------- inbound


def telegram_user(update: Update) -> UserRef | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    return UserRef(channel="telegram", external_id=str(user.id), display_name=user.full_name)


def strip_bot_mention(text: str) -> str:
    """ "/hjalp@planbot_bot rest" → "/hjalp rest": Telegram appends the bot's name to commands
    picked from the menu in some clients."""
    return _COMMAND_MENTION.sub(r"\1", text, count=1)


def inbound_from_message(message: Message, user: UserRef, key: str) -> Inbound:
    if message.text is not None:
        text = strip_bot_mention(message.text)
        if text.split(maxsplit=1)[:1] == ["/start"]:
            return Inbound(user=user, kind=InboundKind.START, key=key)
        return Inbound(user=user, kind=InboundKind.TEXT, key=key, text=text)
    media = next((name for attr, name in MEDIA_ATTRIBUTES if getattr(message, attr)), "other")
    return Inbound(user=user, kind=InboundKind.UNSUPPORTED, key=key, media=media)


# --------------------------------------------------------------------------- outbound


@dataclass(frozen=True)
class Rendered:
    """One Telegram message: HTML text and, on the last part of an Outbound, its keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units). Measured on the HTML source, which is
    never shorter than the parsed text, so a message that fits here fits on Telegram."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def _fitting(plain: str, wrap: Callable[[str], str], limit: int) -> list[str]:
    """Plain text split at paragraph, line, then word boundaries so that every piece, once
    escaped and wrapped in its tags, is at most `limit` long (as Telegram counts)."""
    return fit_text(plain, limit, render=wrap, measure=telegram_length)


def keyboard(choices: Sequence[Choice]) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    buttons = [
        InlineKeyboardButton(choice.label, callback_data=callback_data(choice.value))
        for choice in choices
    ]
    per_row = 2 if all(len(c.label) <= SHORT_LABEL for c in choices) else 1
    return InlineKeyboardMarkup([buttons[i : i + per_row] for i in range(0, len(buttons), per_row)])


def callback_data(value: str) -> str:
    """The engine keeps values within Telegram's 64 bytes; should one slip through, trim it
    (the engine then reads it as a stale button) rather than lose the whole message."""
    raw = value.encode("utf-8")
    if 1 <= len(raw) <= CALLBACK_DATA_LIMIT:
        return value
    log.warning("callback_data over %d bytes trimmed: %r", CALLBACK_DATA_LIMIT, value)
    return raw[:CALLBACK_DATA_LIMIT].decode("utf-8", errors="ignore") or "-"


def render(out: Outbound, messages: Messages, limit: int = MESSAGE_LIMIT) -> list[Rendered]:
    """An Outbound as Telegram messages: progress, heading, the body's paragraphs, the note,
    packed into as few messages as fit; split only between paragraphs unless one paragraph is
    itself too long. The keyboard goes on the last message."""

    def italic(s: str) -> str:
        return f"<i>{escape(s)}</i>"

    def bold(s: str) -> str:
        return f"<b>{escape(s)}</b>"

    atoms: list[tuple[str, str]] = []  # (separator before, html fragment that fits alone)

    def add(text: str | None, wrap: Callable[[str], str], separator: str) -> None:
        for paragraph in (text or "").split("\n\n"):
            for i, piece in enumerate(_fitting(paragraph, wrap, limit)):
                atoms.append((separator if i == 0 else "\n", piece))

    add(out.progress, italic, "\n")
    add(out.heading, bold, "\n")
    add(out.text, escape, "\n\n")
    add(out.note, italic, "\n\n")
    if not atoms and out.choices:
        atoms.append(("", escape(messages("telegram.choose"))))

    texts: list[str] = []
    for separator, atom in atoms:
        if texts and telegram_length(texts[-1] + separator + atom) <= limit:
            texts[-1] += separator + atom
        else:
            texts.append(atom)
    parts = [Rendered(text) for text in texts]
    markup = keyboard(out.choices)
    if parts and markup is not None:
        parts[-1] = Rendered(parts[-1].html, markup)
    return parts


async def patiently(call: Callable[[], Awaitable[T]]) -> T:
    """Make a Bot API call, waiting out Telegram's flood control (429 "retry after N").
    Messages of one answer go out in a burst; losing one because of it is not acceptable."""
    for attempt in range(1, FLOOD_ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == FLOOD_ATTEMPTS:
                raise
            with warnings.catch_warnings():  # PTB 22 warns about int vs timedelta here
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
            log.warning("flood control: waiting %.0f s before sending again", seconds)
            await asyncio.sleep(seconds)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- the channel


class TelegramChannel:
    """The handler PTB calls for every update, and the start/stop hooks around it."""

    def __init__(self, settings: Settings, runtime: Runtime | None, messages: Messages) -> None:
        self.settings = settings
        self.runtime = runtime
        self.owns_runtime = runtime is None
        self.msg = messages
        self.reminder_task: asyncio.Task[None] | None = None
        # Updates processed from the inbox whose handling failed (PTB hands a handler's
        # exception to the error handlers, not back to the caller): update_id → error.
        self.failed: dict[int, BaseException] = {}
        # Updates from senders the bot does not serve: nothing of theirs is kept.
        self.refused: set[int] = set()
        self.from_inbox = False

    @property
    def conversation(self) -> Conversation:
        if self.runtime is None:
            raise RuntimeError("the runtime starts in post_init; the application is not running")
        return self.runtime.conversation

    @property
    def runtime_gate(self) -> Gate:
        if self.runtime is None:
            raise RuntimeError("the runtime starts in post_init; the application is not running")
        return self.runtime.gate

    async def post_init(self, app: TelegramApp) -> None:
        if self.runtime is None:
            self.runtime = await start_runtime(self.settings)
        commands = [
            BotCommand(command.lstrip("/"), description[:256])
            for command, description in self.conversation.command_menu()
        ]
        await app.bot.set_my_commands(commands)
        self.reminder_task = start_background(  # due reminders, every minute
            self.runtime.reminders, {"telegram": telegram_sender(app.bot, self.msg)}
        )

    async def post_shutdown(self, app: TelegramApp) -> None:
        await stop_background(self.reminder_task)
        if self.runtime is not None and self.owns_runtime:
            await self.runtime.close()
            self.runtime = None

    async def on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        try:
            await self._dispatch(update, context)
        except Exception as exc:
            if self.from_inbox:  # the inbox retries it, and tells the teacher if it gives up
                self.failed[update.update_id] = exc
                return
            log_failure(log, f"update {update.update_id}", exc)
            chat = update.effective_chat
            if chat is not None and chat.type == ChatType.PRIVATE:
                await self._say(context, chat.id, self.msg("telegram.error"))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            log_failure(log, "Telegram", context.error)

    async def _dispatch(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        user = telegram_user(update)
        if chat is None:
            return
        if chat.type != ChatType.PRIVATE:
            await self._not_private(update, context, chat.id)
            return
        if user is None:
            return
        if not await telegram_admits(self.runtime_gate, update, context.bot, self.msg):
            self.refused.add(update.update_id)  # its inbox row goes too (TelegramService)
            return
        key = f"telegram:{update.update_id}"
        if update.callback_query is not None:
            await self._on_button(update.callback_query, user, key, context)
        elif update.edited_message is not None:
            inbound = Inbound(user=user, kind=InboundKind.UNSUPPORTED, key=key, media="edited")
            await self._converse(inbound, chat.id, context)
        elif update.message is not None:
            inbound = inbound_from_message(update.message, user, key)
            await self._converse(inbound, chat.id, context)

    async def _not_private(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int
    ) -> None:
        text = self.msg("telegram.private_only", bot=context.bot.username or "")
        if update.callback_query is not None:
            await update.callback_query.answer(text[:CALLBACK_ANSWER_LIMIT])
        elif update.message is not None or update.channel_post is not None:
            await self._say(context, chat_id, text)

    async def _on_button(
        self,
        query: CallbackQuery,
        user: UserRef,
        key: str,
        context: ContextTypes.DEFAULT_TYPE,
    ) -> None:
        message = query.message
        chat_id = message.chat.id if message is not None else query.from_user.id
        if isinstance(message, Message) and message.reply_markup is not None:
            # Gone at once, so the same button cannot be pressed twice.
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except BadRequest as exc:  # already gone ("message is not modified"), too old
                log.debug("keyboard of %s not removed: %s", message.message_id, exc)
        answered = False
        try:
            inbound = Inbound(user=user, kind=InboundKind.CHOICE, key=key, choice=query.data or "")
            outs = await self.conversation.handle(
                inbound, before_document=self._upload_action(context, chat_id)
            )
            notice = next((o for o in outs if o.notice), None)
            toast = notice.text[:CALLBACK_ANSWER_LIMIT] if notice is not None else None
            await query.answer(toast)
            answered = True
            await self._send(context, chat_id, [o for o in outs if o is not notice])
        finally:
            if not answered:
                await self._answer_quietly(query)

    async def _converse(
        self, inbound: Inbound, chat_id: int, context: ContextTypes.DEFAULT_TYPE
    ) -> None:
        outs = await self.conversation.handle(
            inbound, before_document=self._upload_action(context, chat_id)
        )
        await self._send(context, chat_id, outs)

    def _upload_action(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int
    ) -> Callable[[], Awaitable[None]]:
        async def before_document() -> None:
            try:
                await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
            except TelegramError as exc:  # only a courtesy; the document still goes out
                log.warning("chat action failed: %s", exc)

        return before_document

    async def _send(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, outs: Sequence[Outbound]
    ) -> None:
        bot = context.bot
        for out in outs:
            for part in render(out, self.msg):
                await patiently(
                    partial(
                        bot.send_message,
                        chat_id,
                        part.html,
                        parse_mode=ParseMode.HTML,
                        reply_markup=part.keyboard,
                        link_preview_options=NO_PREVIEW,
                    )
                )
            if out.document is not None:
                upload = InputFile(out.document.data, filename=out.document.filename)
                await patiently(partial(bot.send_document, chat_id, upload))

    async def _say(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str) -> None:
        try:
            await context.bot.send_message(chat_id, escape(text), parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.warning("could not tell chat %s: %s", chat_id, exc)

    @staticmethod
    async def _answer_quietly(query: CallbackQuery) -> None:
        try:
            await query.answer()
        except TelegramError as exc:
            log.debug("callback %s not answered: %s", query.id, exc)


# --------------------------------------------------------------------------- entry points


def build_application(settings: Settings, runtime: Runtime | None = None) -> TelegramApp:
    """The PTB Application for these settings. Without `runtime`, one is started in
    post_init and closed in post_shutdown (which `run_polling`/`run_webhook` call)."""
    messages = texts.messages(settings)
    channel = TelegramChannel(settings, runtime, messages)
    app = (
        Application.builder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .concurrent_updates(OrderedUpdateProcessor())
        .post_init(channel.post_init)
        .post_shutdown(channel.post_shutdown)
        .build()
    )
    app.add_handler(TypeHandler(Update, channel.on_update))
    app.add_error_handler(channel.on_error)
    app.bot_data["planbot.channel"] = channel
    return app


UPDATE_KINDS = ("message", "edited_message", "callback_query", "channel_post")
WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def inbox_item(payload: dict[str, Any]) -> InboxItem | None:
    """An update as the inbox stores it: keyed `telegram:<update_id>` (the turn's idempotency
    key), ordered by the user (or chat) it comes from. None for what is not an update."""
    update_id = payload.get("update_id")
    if not isinstance(update_id, int):
        return None
    who: object = None
    for kind in UPDATE_KINDS:
        part = payload.get(kind)
        if isinstance(part, dict):
            sender = part.get("from") or {}
            chat = part.get("chat") or (part.get("message") or {}).get("chat") or {}
            who = sender.get("id") or chat.get("id")
            break
    return InboxItem(
        platform="telegram",
        key=f"telegram:{update_id}",
        update_id=str(update_id),
        teacher=f"telegram:{who if who is not None else update_id}",
        payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
    )


POLL_PAUSE, POLL_PAUSE_MAX = 0.5, 30.0  # seconds between failed getUpdates, doubling


class TelegramService:
    """The bot running: the Application, the inbox processor, and a webhook server or a
    long-polling loop that store every update before acknowledging it."""

    def __init__(self, settings: Settings, runtime: Runtime | None = None) -> None:
        self.settings = settings
        self.app = build_application(settings, runtime)
        self.channel: TelegramChannel = self.app.bot_data["planbot.channel"]
        self.processor: InboxProcessor | None = None
        self._poller: asyncio.Task[None] | None = None
        self._site: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    async def start(
        self,
        *,
        webhook_url: str | None = None,
        listen: str = "127.0.0.1",
        port: int = 8443,
        secret: str = "",
        poll_timeout: int = 10,
    ) -> None:
        app = self.app
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        runtime = self.channel.runtime
        assert runtime is not None
        self.channel.from_inbox = True
        self.processor = InboxProcessor(
            runtime.database.inbox,
            self._process,
            self._notify,
            max_attempts=self.settings.inbox_attempts,
            sweep_every=self.settings.inbox_sweep_seconds,
            limit=self.settings.inbox_concurrency,
        )
        self.processor.start()  # first, what a dead worker left; then a sweep every second
        if webhook_url:
            self._site = await self._serve_webhook(listen, port, webhook_url, secret)
            await app.bot.set_webhook(
                webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
        else:
            await app.bot.delete_webhook()
            self._poller = asyncio.create_task(self._poll(poll_timeout))

    async def stop(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self._site is not None:
            await self._site.cleanup()
        if self.processor is not None:
            await self.processor.close()
        app = self.app
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)

    async def drain(self) -> None:
        if self.processor is not None:
            await self.processor.drain()

    # ---- receiving: store, then acknowledge

    async def _serve_webhook(
        self, listen: str, port: int, webhook_url: str, secret: str
    ) -> web.AppRunner:
        path = "/" + urlsplit(webhook_url).path.lstrip("/")

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(WEBHOOK_SECRET_HEADER, "")
            if not secrets.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=403)
            try:
                payload = json.loads(await request.read())
            except ValueError:
                return web.Response(status=400)
            item = inbox_item(payload) if isinstance(payload, dict) else None
            if item is None:
                return web.Response(status=400)
            assert self.processor is not None
            try:
                await self.processor.accept(item)
            except Exception as exc:  # not stored: Telegram must send it again
                log.warning("update %s not stored, not acknowledged: %s", item.update_id, exc)
                return web.Response(status=503)
            return web.Response(status=200)

        async def health(request: web.Request) -> web.Response:
            runtime = self.channel.runtime
            ok = runtime is not None and await database_reachable(runtime.database)
            return web.Response(
                status=200 if ok else 503, text="ok\n" if ok else "database unreachable\n"
            )

        application = web.Application()
        application.router.add_post(path, receive)
        application.router.add_get(HEALTH_PATH, health)  # for the load balancer / container
        runner = web.AppRunner(application, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, listen, port).start()
        log.info("Telegram webhook on http://%s:%s%s", listen, port, path)
        return runner

    async def _poll(self, timeout: int) -> None:
        """getUpdates; every update stored before the next call confirms the offset."""
        bot = self.app.bot
        offset: int | None = None
        pause = POLL_PAUSE
        while not self._stopping.is_set():
            try:
                updates = await bot.get_updates(
                    offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
                )
            except Exception as exc:  # Telegram away, a revoked token, another poller...
                log_failure(log, "getUpdates", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, POLL_PAUSE_MAX)  # not a log line every half second
                continue
            pause = POLL_PAUSE
            for update in updates:
                item = inbox_item(update.to_dict())
                while item is not None:
                    try:
                        assert self.processor is not None
                        await self.processor.accept(item)
                        break
                    except Exception as exc:  # the offset waits until it is stored
                        log.warning("update %s not stored yet: %s", update.update_id, exc)
                        await asyncio.sleep(pause)
                offset = update.update_id + 1

    # ---- processing, from the inbox

    async def _process(self, entry: InboxEntry) -> None:
        app = self.app
        update = Update.de_json(json.loads(entry.payload), app.bot)
        await app.update_processor.process_update(update, app.process_update(update))
        error = self.channel.failed.pop(update.update_id, None)
        if error is not None:
            raise error
        if update.update_id in self.channel.refused:
            self.channel.refused.discard(update.update_id)
            runtime = self.channel.runtime
            assert runtime is not None
            await runtime.database.inbox.forget(entry.id)

    async def _notify(self, entry: InboxEntry, what: str) -> None:
        chat = entry.teacher.partition(":")[2]
        if chat.lstrip("-").isdigit() and int(chat) > 0:  # a person's private chat
            text = self.channel.msg(f"inbox.{what}")
            await self.app.bot.send_message(int(chat), escape(text), parse_mode=ParseMode.HTML)


def run(
    settings: Settings,
    *,
    webhook_url: str | None = None,
    port: int | None = None,
    listen: str = "127.0.0.1",
) -> int:
    """`planbot telegram`: long polling, or a webhook with a secret token. The exit code."""
    messages = texts.messages(settings)
    if not settings.telegram_token.strip():
        print(messages("telegram.token_missing"), file=sys.stderr)
        return 2
    _configure_logging()
    problem = asyncio.run(_check_token(settings, messages))
    if problem is not None:
        print(problem[1], file=sys.stderr)
        return problem[0]
    try:
        asyncio.run(_serve(settings, webhook_url=webhook_url, port=port or 8443, listen=listen))
    except InvalidToken:
        print(messages("telegram.token_rejected"), file=sys.stderr)
        return 2
    except TelegramError as exc:  # e.g. a webhook URL Telegram does not accept
        print(messages("telegram.setup_failed", reason=str(exc)), file=sys.stderr)
        return 2
    return 0


async def _serve(settings: Settings, *, webhook_url: str | None, port: int, listen: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    service = TelegramService(settings)
    try:
        await service.start(
            webhook_url=webhook_url,
            listen=listen,
            port=port,
            secret=settings.telegram_webhook_secret or secrets.token_urlsafe(32),
        )
        await stop.wait()
    finally:
        await service.stop()


async def _check_token(settings: Settings, messages: Messages) -> tuple[int, str] | None:
    """Ask Telegram who the bot is before starting, so a wrong token or an unreachable API is
    one line for the operator (exit code, text) rather than PTB's retry-loop traceback."""
    bot = Bot(
        settings.telegram_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
    )
    try:
        async with bot:
            return None
    except InvalidToken:
        return 2, messages("telegram.token_rejected")
    except NetworkError as exc:
        return 1, messages("telegram.unreachable", url=settings.telegram_api_url, reason=str(exc))
    except TelegramError as exc:
        return 1, messages("telegram.setup_failed", reason=str(exc))


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # httpx logs every request URL at INFO, and the URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
