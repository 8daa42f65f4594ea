"""A local emulator of the Telegram Bot API, for end-to-end tests of the real bot.

Telegram cannot be reached from the test machines, and a mocked `Bot` would test our guesses
about Telegram rather than the bot. So this is a small HTTP server (aiohttp, 127.0.0.1, a free
port) that speaks the Bot API the way api.telegram.org does, for the methods planbot uses:

    getMe · getUpdates (offset, limit, long-poll timeout) · sendMessage · editMessageText ·
    editMessageReplyMarkup · answerCallbackQuery · sendChatAction · sendDocument (multipart) ·
    setMyCommands / getMyCommands · setWebhook / deleteWebhook / getWebhookInfo · getFile ·
    file download under /file/bot<token>/<file_path>

It rejects what Telegram rejects, with Telegram's JSON ({"ok": false, "error_code": ...,
"description": ...}) and status codes: a wrong token (401), text longer than 4,096 characters
after entity parsing or empty, callback_data outside 1–64 bytes, HTML that is not well-formed
or uses a tag Telegram does not know, an edit that changes nothing, a callback answer over 200
characters, a second answer to one callback query, getUpdates while a webhook is set (409).

Where the real server is lenient in ways nobody should rely on, the emulator is stricter: a bare
`&`, `<` or `>` in HTML text is an error here (Telegram's documentation says they must be
escaped), and lengths are counted in UTF-16 code units (what Telegram's entity offsets use), so
an astral emoji counts twice. Webhook URLs may be plain http on any port (the tests cannot run
TLS on 443); everything else about webhooks follows Telegram: the secret token is sent in
X-Telegram-Bot-Api-Secret-Token, up to `max_connections` (default 40) updates are POSTed at once
(one chat's one at a time, in order), and an update is re-delivered until the bot answers 200.

The test-facing side lets a test act as a teacher — `send_text`, `press`, `send_sticker`,
`send_photo`, `send_document_from_user`, `edit_text`, `deliver_again`, `block` (403 "bot was
blocked by the user" from then on) — and read what the bot did: `bot_messages`,
`wait_for_messages`, `wait_until_quiet`, `documents`, `download`, `commands`, `chat_actions`,
`errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

Json = dict[str, Any]


class ApiError(Exception):
    """An error answer, exactly as Telegram words it."""

    def __init__(self, code: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- HTML parse mode

# Tag name → attributes it may carry (Telegram's "HTML style" list).
ALLOWED_TAGS: Mapping[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_RE = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ATTR_RE = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]+);")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def parse_html(text: str) -> str:
    """Check `text` as Telegram's HTML parse mode does and return the plain text it shows.

    Raises ApiError 400 "can't parse entities: ..." on anything Telegram would refuse.
    """
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG_RE.match(text, i)
            if m is None:
                raise bad_request(
                    "can't parse entities: Unsupported start tag "
                    f'"{text[i + 1 : i + 9]}" at byte offset {_byte_offset(text, i)}'
                )
            closing, name, attrs = m.group(1) == "/", m.group(2).lower(), m.group(3)
            if name not in ALLOWED_TAGS:
                kind = "end" if closing else "start"
                raise bad_request(
                    f'can\'t parse entities: Unsupported {kind} tag "{name}" at byte offset '
                    f"{_byte_offset(text, i)}"
                )
            if closing:
                if not stack or stack[-1][0] != name:
                    raise bad_request(
                        "can't parse entities: Unexpected end tag at byte offset "
                        f"{_byte_offset(text, i)}"
                    )
                stack.pop()
            else:
                _check_attributes(name, attrs, text, i)
                if (
                    stack
                    and stack[-1][0] in ("code", "pre")
                    and not (stack[-1][0] == "pre" and name == "code")
                ):
                    raise bad_request(
                        f'can\'t parse entities: Can\'t nest "{name}" inside "{stack[-1][0]}" '
                        f"at byte offset {_byte_offset(text, i)}"
                    )
                stack.append((name, i))
            i = m.end()
            continue
        if ch == "&":
            m = _ENTITY_RE.match(text, i)
            if m is None:
                raise bad_request(
                    "can't parse entities: Character '&' is reserved and must be escaped as "
                    f"&amp; at byte offset {_byte_offset(text, i)}"
                )
            body = m.group(1)
            if body.startswith("#"):
                code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
                if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise bad_request(
                        f"can't parse entities: Invalid HTML entity at byte offset "
                        f"{_byte_offset(text, i)}"
                    )
                out.append(chr(code))
            elif body in NAMED_ENTITIES:
                out.append(NAMED_ENTITIES[body])
            else:
                raise bad_request(
                    f'can\'t parse entities: Unsupported HTML entity "&{body};" at byte offset '
                    f"{_byte_offset(text, i)}"
                )
            i = m.end()
            continue
        if ch == ">":
            raise bad_request(
                "can't parse entities: Character '>' is reserved and must be escaped as &gt; "
                f"at byte offset {_byte_offset(text, i)}"
            )
        out.append(ch)
        i += 1
    if stack:
        name, _ = stack[-1]
        raise bad_request(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{name}\""
        )
    return "".join(out)


def _check_attributes(name: str, attrs: str, text: str, at: int) -> None:
    values: dict[str, str] = {}
    for m in _ATTR_RE.finditer(attrs):
        attr = m.group(1).lower()
        if attr not in ALLOWED_TAGS[name]:
            raise bad_request(
                f'can\'t parse entities: Unsupported attribute "{attr}" in tag "{name}" at byte '
                f"offset {_byte_offset(text, at)}"
            )
        values[attr] = next((g for g in m.groups()[1:] if g is not None), "")
    if name == "span" and values.get("class") != "tg-spoiler":
        raise bad_request(
            'can\'t parse entities: Tag "span" must have class "tg-spoiler" at byte offset '
            f"{_byte_offset(text, at)}"
        )
    if name == "a" and not values.get("href"):
        raise bad_request(
            f'can\'t parse entities: Tag "a" must have attribute "href" at byte offset '
            f"{_byte_offset(text, at)}"
        )
    if name == "tg-emoji" and not values.get("emoji-id"):
        raise bad_request(
            'can\'t parse entities: Tag "tg-emoji" must have attribute "emoji-id" at byte '
            f"offset {_byte_offset(text, at)}"
        )


def shown_text(text: str, parse_mode: str | None) -> str:
    """The text a Telegram client would show: entities parsed, surrounding space trimmed."""
    if parse_mode is None or parse_mode == "":
        plain = text
    elif parse_mode.upper() == "HTML":
        plain = parse_html(text)
    elif parse_mode in ("Markdown", "MarkdownV2"):
        plain = text  # not used by planbot; accepted without checking
    else:
        raise bad_request("unsupported parse_mode")
    return plain.strip()


# --------------------------------------------------------------------------- records


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str = ""
    mime_type: str = ""


@dataclass
class ChatRecord:
    id: int
    type: str
    title: str = ""
    first_name: str = ""
    next_message_id: int = 1

    def as_json(self) -> Json:
        chat: Json = {"id": self.id, "type": self.type}
        if self.type == "private":
            chat["first_name"] = self.first_name
        else:
            chat["title"] = self.title
        return chat


@dataclass
class CallbackRecord:
    id: str
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False


@dataclass
class ApiCall:
    method: str
    params: Json
    at: float
    error: str | None = None


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    deliveries: list[tuple[int, str | None, int]] = field(default_factory=list)
    max_connections: int = 40


class TelegramEmulator:
    """One bot's view of Telegram. Use as `async with TelegramEmulator() as tg:`."""

    def __init__(
        self,
        token: str = "123456789:AAE-emulator-test-token_0123456789ab",
        *,
        bot_username: str = "planbot_test_bot",
        bot_name: str = "Planbot",
        webhook_retry_delay: float = 0.2,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.webhook_retry_delay = webhook_retry_delay
        self.port = 0
        self.calls: list[ApiCall] = []
        self.commands: list[Json] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.callbacks: dict[str, CallbackRecord] = {}
        self.files: dict[str, StoredFile] = {}
        self.webhook: _Webhook | None = None
        self._chats: dict[int, ChatRecord] = {}
        # (chat_id, message_id) → the message as the Bot API would return it now
        self._messages: dict[tuple[int, int], Json] = {}
        self._html: dict[tuple[int, int], str] = {}  # what the bot sent, before parsing
        self._bot_message_ids: dict[int, list[int]] = {}
        self._users: dict[int, Json] = {}
        self._update_ids = itertools.count(700_000_001)
        self._pending: list[Json] = []  # updates not yet confirmed (polling)
        self._redeliver: list[Json] = []  # forced re-deliveries, returned once
        self._changed = asyncio.Event()  # replaced by a fresh one after every change
        self._poller: asyncio.Future[None] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._last_activity = time.monotonic()
        self._floods: dict[int, list[int]] = {}  # chat → retry_after of the next refusals
        self._blocked: set[int] = set()  # private chats whose user blocked the bot

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """What to give python-telegram-bot as `base_url` (token appended by PTB)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._client = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._poller is not None and not self._poller.done():
            self._poller.set_result(None)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ HTTP side

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        if token != self.token:
            return _error_response(ApiError(401, "Unauthorized"))
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _error_response(bad_request(str(exc)))
        handler = self._methods().get(method.lower())
        call = ApiCall(method, {k: v for k, v in params.items() if k != "_files"}, time.time())
        self.calls.append(call)
        busy = method.lower() != "getupdates"  # a waiting poller is not the bot at work
        if busy:
            self._last_activity = time.monotonic()
        if handler is None:
            call.error = "Not Found"
            return _error_response(ApiError(404, "Not Found"))
        try:
            result = await handler(params)
        except ApiError as exc:
            call.error = exc.description
            return _error_response(exc)
        finally:
            if busy:
                self._last_activity = time.monotonic()
        self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error_response(ApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return _error_response(ApiError(404, "Not Found"))

    def _methods(self) -> dict[str, Callable[[Json], Any]]:
        return {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "senddocument": self._send_document,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getfile": self._get_file,
        }

    # ------------------------------------------------------------------ Bot API methods

    async def _get_me(self, params: Json) -> Json:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: Json) -> list[Json]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = _int(params, "offset", 0)
        limit = _int(params, "limit", 100)
        timeout = _int(params, "timeout", 0)
        if not 1 <= limit <= 100:
            limit = 100
        # Only one getUpdates at a time: a newer request ends the older one, as on Telegram.
        if self._poller is not None and not self._poller.done():
            self._poller.set_exception(
                ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            )
        poller: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._poller = poller
        try:
            self._confirm(offset)
            deadline = time.monotonic() + max(timeout, 0)
            while True:
                batch = self._take_updates(offset, limit)
                if batch:
                    self._last_activity = time.monotonic()
                    return batch
                if time.monotonic() >= deadline:
                    return batch
                remaining = deadline - time.monotonic()
                waiter = asyncio.ensure_future(self._changed.wait())
                done, _ = await asyncio.wait(
                    {waiter, poller}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if not waiter.done():
                    waiter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiter
                if poller in done:
                    poller.result()  # raises the 409 if a newer request ended this one
                    return []
        finally:
            if self._poller is poller:
                self._poller = None

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _take_updates(self, offset: int, limit: int) -> list[Json]:
        forced, self._redeliver = self._redeliver[:limit], self._redeliver[limit:]
        rest = [u for u in self._pending if offset <= 0 or u["update_id"] >= offset]
        return forced + rest[: limit - len(forced)]

    def _check_flood(self, chat: ChatRecord) -> None:
        waits = self._floods.get(chat.id)
        if waits:
            retry_after = waits.pop(0)
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )

    async def _send_message(self, params: Json) -> Json:
        chat = self._chat(params)
        if chat.id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        self._check_flood(chat)
        text = _str(params, "text")
        shown = shown_text(text, params.get("parse_mode"))
        if not shown:
            raise bad_request("message text is empty")
        if utf16_len(shown) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        markup = _inline_markup(params)
        message = self._new_message(chat, self._bot_user(), text=shown)
        if markup is not None:
            message["reply_markup"] = markup
        self._html[(chat.id, message["message_id"])] = text
        self._bot_message_ids.setdefault(chat.id, []).append(message["message_id"])
        return message

    async def _edit_message_text(self, params: Json) -> Json:
        message = self._editable(params)
        text = _str(params, "text")
        shown = shown_text(text, params.get("parse_mode"))
        if not shown:
            raise bad_request("message text is empty")
        if utf16_len(shown) > MAX_MESSAGE_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        markup = _inline_markup(params)
        if shown == message.get("text") and markup == message.get("reply_markup"):
            raise _not_modified()
        message["text"] = shown
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        self._html[(message["chat"]["id"], message["message_id"])] = text
        return message

    async def _edit_message_reply_markup(self, params: Json) -> Json:
        message = self._editable(params)
        markup = _inline_markup(params)
        if markup == message.get("reply_markup"):
            raise _not_modified()
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    async def _answer_callback_query(self, params: Json) -> bool:
        query_id = _str(params, "callback_query_id")
        record = self.callbacks.get(query_id)
        if record is None or record.answered:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and utf16_len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        record.answer_text = None if text is None else str(text)
        record.show_alert = _bool(params, "show_alert")
        return True

    async def _send_chat_action(self, params: Json) -> bool:
        chat = self._chat(params)
        action = _str(params, "action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        return True

    async def _send_document(self, params: Json) -> Json:
        chat = self._chat(params)
        self._check_flood(chat)
        files: dict[str, tuple[str, str, bytes]] = params.get("_files", {})
        ref = params.get("document")
        upload: tuple[str, str, bytes] | None = None
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref.removeprefix("attach://"))
        elif "document" in files:
            upload = files["document"]
        if upload is not None:
            filename, mime, data = upload
            if not data:
                raise bad_request("file must be non-empty")
            stored = self._store_file(data, filename or "document", mime)
        elif isinstance(ref, str) and ref in self.files:
            stored = self.files[ref]
        else:
            raise bad_request("there is no document in the request")
        caption = params.get("caption")
        message = self._new_message(chat, self._bot_user())
        message["document"] = _document_json(stored)
        if caption:
            shown = shown_text(str(caption), params.get("parse_mode"))
            if utf16_len(shown) > MAX_CAPTION_LENGTH:
                raise bad_request("message caption is too long")
            message["caption"] = shown
        markup = _inline_markup(params)
        if markup is not None:
            message["reply_markup"] = markup
        self._bot_message_ids.setdefault(chat.id, []).append(message["message_id"])
        return message

    async def _set_my_commands(self, params: Json) -> bool:
        commands = _json_param(params, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND_RE.match(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        return True

    async def _get_my_commands(self, params: Json) -> list[Json]:
        return self.commands

    async def _delete_my_commands(self, params: Json) -> bool:
        self.commands = []
        return True

    async def _set_webhook(self, params: Json) -> bool:
        url = _str(params, "url", "")
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN_RE.match(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if _bool(params, "drop_pending_updates"):
            self._pending.clear()
        before = self.webhook
        connections = _int(params, "max_connections", 40)
        if not 1 <= connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        self.webhook = _Webhook(url, None if secret is None else str(secret), [], connections)
        if before is not None and before.url == url:  # set again (another worker starting)
            self.webhook.deliveries = before.deliveries
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        return True

    async def _delete_webhook(self, params: Json) -> bool:
        if _bool(params, "drop_pending_updates"):
            self._pending.clear()
        self.webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        return True

    async def _get_webhook_info(self, params: Json) -> Json:
        return {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _get_file(self, params: Json) -> Json:
        file_id = _str(params, "file_id")
        stored = self.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # ------------------------------------------------------------------ webhook delivery

    async def _deliver_webhooks(self) -> None:
        """Push pending updates in order, at most `max_connections` POSTs at once (setWebhook's
        parameter, default 40 as on Telegram) and one at a time per chat; an update leaves the
        queue only when the bot answered 200 — anything else is retried, as Telegram does."""
        assert self._client is not None
        in_flight: dict[object, asyncio.Task[None]] = {}  # chat (or update) → its delivery
        while True:
            hook = self.webhook
            if hook is None:
                return
            queue = self._redeliver or self._pending
            busy = {k for k, task in in_flight.items() if not task.done()}
            for k in [k for k in in_flight if k not in busy]:
                in_flight.pop(k)
            ready = [u for u in queue if _chat_of(u) not in busy]
            if not ready or len(busy) >= hook.max_connections:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05 if busy else 0.5)
                continue
            # The first update of each chat not being delivered, oldest first.
            seen: set[object] = set()
            for update in queue:
                chat = _chat_of(update)
                if chat in busy or chat in seen:
                    seen.add(chat)
                    continue
                seen.add(chat)
                if len(in_flight) >= hook.max_connections:
                    break
                in_flight[chat] = asyncio.create_task(self._deliver_one(hook, queue, update))
            await asyncio.sleep(0)

    async def _deliver_one(self, hook: _Webhook, queue: list[Json], update: Json) -> None:
        assert self._client is not None
        headers = {}
        if hook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with self._client.post(
                hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(10)
            ) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        hook.deliveries.append((update["update_id"], hook.secret_token, status))
        self._last_activity = time.monotonic()
        if status == 200:
            with contextlib.suppress(ValueError):
                queue.remove(update)
        else:
            await asyncio.sleep(self.webhook_retry_delay)
        self._notify()

    async def post_to_webhook(self, update: Json, *, secret_token: str | None) -> int:
        """POST `update` to the webhook URL with any secret (a forger's request); the status."""
        assert self.webhook is not None and self._client is not None
        headers = {} if secret_token is None else {"X-Telegram-Bot-Api-Secret-Token": secret_token}
        async with self._client.post(self.webhook.url, json=update, headers=headers) as response:
            return response.status

    # ------------------------------------------------------------------ helpers

    def _bot_user(self) -> Json:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def _chat(self, params: Json) -> ChatRecord:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        chat = self._chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _editable(self, params: Json) -> Json:
        if params.get("inline_message_id"):
            raise bad_request("inline message editing is not emulated")
        chat = self._chat(params)
        message_id = _int(params, "message_id", 0)
        message = self._messages.get((chat.id, message_id))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise bad_request("message can't be edited")
        return message

    def _new_message(self, chat: ChatRecord, sender: Json, **content: Any) -> Json:
        message: Json = {
            "message_id": chat.next_message_id,
            "from": sender,
            "chat": chat.as_json(),
            "date": int(time.time()),
        }
        chat.next_message_id += 1
        message.update({k: v for k, v in content.items() if v is not None})
        self._messages[(chat.id, message["message_id"])] = message
        return message

    def _store_file(self, data: bytes, file_name: str, mime_type: str) -> StoredFile:
        unique = uuid.uuid4().hex
        folder = "documents" if file_name else "files"
        suffix = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        stored = StoredFile(
            file_id=f"BQACAgQAAx{unique}",
            file_unique_id=f"AgAD{unique[:12]}",
            file_path=f"{folder}/file_{len(self.files)}.{suffix}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ the teacher's side

    def user(self, user_id: int, first_name: str = "Lärare") -> Json:
        return self._users.setdefault(
            user_id,
            {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "sv"},
        )

    def _user_chat(self, user_id: int, chat_type: str, chat_id: int | None) -> ChatRecord:
        user = self.user(user_id)
        if chat_type == "private":
            cid = user_id
        else:
            cid = chat_id if chat_id is not None else -1_000_000_000_000 - user_id
        chat = self._chats.get(cid)
        if chat is None:
            chat = self._chats[cid] = ChatRecord(
                id=cid,
                type=chat_type,
                first_name=user["first_name"],
                title="" if chat_type == "private" else "Arbetslag 7–9",
            )
        return chat

    def _user_message(
        self, user_id: int, chat_type: str, chat_id: int | None, **content: Any
    ) -> Json:
        chat = self._user_chat(user_id, chat_type, chat_id)
        return self._new_message(chat, self.user(user_id), **content)

    def _enqueue(self, payload: Json) -> Json:
        update = {"update_id": next(self._update_ids), **payload}
        self._pending.append(update)
        self._last_activity = time.monotonic()
        self._notify()
        return update

    def send_text(
        self,
        user_id: int,
        text: str,
        chat_type: str = "private",
        *,
        chat_id: int | None = None,
    ) -> Json:
        """The teacher writes `text`. Returns the update (its "message" is the message)."""
        entities: list[Json] = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        message = self._user_message(
            user_id, chat_type, chat_id, text=text, entities=entities or None
        )
        return self._enqueue({"message": message})

    def press(
        self, message: Json, data: str, *, force: bool = False, user_id: int | None = None
    ) -> Json:
        """The teacher presses the button with callback_data `data` under a bot `message`.

        Refuses data that is not on the message's *current* keyboard (a Telegram client cannot
        press a button that is gone) unless `force` (an old client, a stale screen)."""
        key = (message["chat"]["id"], message["message_id"])
        current = self._messages.get(key)
        if current is None:
            raise LookupError(f"no message {key}")
        buttons = [
            b.get("callback_data")
            for row in current.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row
        ]
        if data not in buttons and not force:
            raise LookupError(
                f"{data!r} is not on the current keyboard of message {key}: {buttons}"
            )
        presser = self.user(user_id if user_id is not None else message["chat"]["id"])
        query_id = str(uuid.uuid4().int >> 64)
        self.callbacks[query_id] = CallbackRecord(query_id, key[0], key[1], data)
        return self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": presser,
                    "message": json.loads(json.dumps(current)),
                    "chat_instance": str(-abs(hash(key)) % 10**18),
                    "data": data,
                }
            }
        )

    def press_label(self, message: Json, label: str) -> Json:
        for row in message.get("reply_markup", {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == label:
                    return self.press(message, button["callback_data"])
        raise LookupError(f"no button {label!r} on message {message.get('message_id')}")

    def send_sticker(self, user_id: int, chat_type: str = "private") -> Json:
        sticker = self._store_file(b"RIFF-webp-sticker", "", "image/webp")
        message = self._user_message(
            user_id,
            chat_type,
            None,
            sticker={
                "file_id": sticker.file_id,
                "file_unique_id": sticker.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            },
        )
        return self._enqueue({"message": message})

    def send_photo(self, user_id: int, caption: str | None = None) -> Json:
        photo = self._store_file(b"\xff\xd8\xff-jpeg", "", "image/jpeg")
        size = {
            "file_id": photo.file_id,
            "file_unique_id": photo.file_unique_id,
            "width": 90,
            "height": 60,
            "file_size": len(photo.data),
        }
        message = self._user_message(user_id, "private", None, photo=[size], caption=caption)
        return self._enqueue({"message": message})

    def send_voice(self, user_id: int) -> Json:
        voice = self._store_file(b"OggS-voice", "", "audio/ogg")
        message = self._user_message(
            user_id,
            "private",
            None,
            voice={
                "file_id": voice.file_id,
                "file_unique_id": voice.file_unique_id,
                "duration": 3,
                "mime_type": "audio/ogg",
            },
        )
        return self._enqueue({"message": message})

    def send_location(self, user_id: int) -> Json:
        message = self._user_message(
            user_id, "private", None, location={"latitude": 55.93, "longitude": 13.54}
        )
        return self._enqueue({"message": message})

    def send_document_from_user(
        self, user_id: int, filename: str = "plan.pdf", data: bytes = b"%PDF-1.4"
    ) -> Json:
        stored = self._store_file(data, filename, "application/octet-stream")
        message = self._user_message(user_id, "private", None, document=_document_json(stored))
        return self._enqueue({"message": message})

    def edit_text(self, message: Json, new_text: str) -> Json:
        """The teacher edits an earlier message of theirs (an `edited_message` update)."""
        if "message" in message and "update_id" in message:
            message = message["message"]
        key = (message["chat"]["id"], message["message_id"])
        current = self._messages[key]
        current["text"] = new_text
        current["edit_date"] = int(time.time())
        return self._enqueue({"edited_message": json.loads(json.dumps(current))})

    def flood(self, chat_id: int, retry_after: int = 1, times: int = 1) -> None:
        """Refuse the next `times` messages to the chat with 429 "retry after", as Telegram
        does when a bot sends faster than about one message a second to one chat."""
        self._floods.setdefault(chat_id, []).extend([retry_after] * times)

    def block(self, user_id: int) -> None:
        """The teacher blocks the bot: sending to their chat is refused with 403 from now."""
        self._user_chat(user_id, "private", None)
        self._blocked.add(user_id)

    def deliver_again(self, update: Json) -> None:
        """Deliver `update` once more with the same update_id, as Telegram does when it did
        not see the bot take it (a webhook call that failed, a poller that died)."""
        self._redeliver.append(update)
        self._last_activity = time.monotonic()
        self._notify()

    def bot_messages(self, chat_id: int) -> list[Json]:
        """Everything the bot sent to the chat, oldest first, as it looks now (after edits)."""
        return [self._messages[(chat_id, mid)] for mid in self._bot_message_ids.get(chat_id, [])]

    def html_of(self, message: Json) -> str:
        """The HTML source the bot sent for a message (the last edit)."""
        return self._html.get((message["chat"]["id"], message["message_id"]), "")

    def documents(self, chat_id: int) -> list[Json]:
        return [m for m in self.bot_messages(chat_id) if "document" in m]

    def errors(self) -> list[ApiCall]:
        """API calls the emulator refused, in order."""
        return [c for c in self.calls if c.error is not None]

    def callback_answer(self, update: Json) -> CallbackRecord:
        return self.callbacks[update["callback_query"]["id"]]

    async def wait_for_callback_answer(self, update: Json, timeout: float = 10.0) -> CallbackRecord:
        record = self.callback_answer(update)
        deadline = time.monotonic() + timeout
        while not record.answered:
            if time.monotonic() > deadline:
                raise TimeoutError(f"callback query {record.id} was never answered")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.1)
        return record

    @property
    def pending_updates(self) -> int:
        return len(self._pending) + len(self._redeliver)

    async def download(self, file_id: str) -> bytes:
        """Fetch a file as a Telegram client would: getFile, then the file URL."""
        assert self._client is not None
        base = f"http://127.0.0.1:{self.port}"
        async with self._client.post(
            f"{base}/bot{self.token}/getFile", data={"file_id": file_id}
        ) as response:
            body = await response.json()
        if not body["ok"]:
            raise LookupError(body["description"])
        async with self._client.get(
            f"{base}/file/bot{self.token}/{body['result']['file_path']}"
        ) as response:
            response.raise_for_status()
            return await response.read()

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int | Callable[[list[Json]], bool],
        timeout: float = 10.0,
    ) -> list[Json]:
        """Wait until the bot has sent at least `count` messages to the chat (or until
        `count(messages)` is true); return them all. Raises TimeoutError with what was seen."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.bot_messages(chat_id)
            done = count(messages) if callable(count) else len(messages) >= count
            if done:
                return messages
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [m.get("text", m.get("document", {}).get("file_name")) for m in messages]
                raise TimeoutError(f"chat {chat_id}: waited for {count!r}, saw {seen!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.1))

    async def wait_until_quiet(
        self,
        chat_id: int,
        after: int,
        *,
        quiet: float = 0.15,
        timeout: float = 10.0,
    ) -> list[Json]:
        """Wait until the bot has sent something beyond the first `after` messages of the chat
        and then made no API call for `quiet` seconds and has taken every update; return the
        new messages. This is "the bot has finished answering"."""
        deadline = time.monotonic() + timeout
        await self.wait_for_messages(chat_id, after + 1, timeout)
        while True:
            idle = time.monotonic() - self._last_activity
            if idle >= quiet and not self._unprocessed():
                return self.bot_messages(chat_id)[after:]
            if time.monotonic() > deadline:
                raise TimeoutError(f"chat {chat_id}: the bot never went quiet")
            await asyncio.sleep(max(quiet - idle, 0.02))

    def _unprocessed(self) -> bool:
        return bool(self._redeliver) or any(
            "callback_query" in u and not self.callbacks[u["callback_query"]["id"]].answered
            for u in self._pending
        )


def _chat_of(update: Json) -> object:
    """The chat an update belongs to (Telegram sends one chat's updates one at a time)."""
    for kind in ("message", "edited_message", "channel_post", "callback_query"):
        part = update.get(kind)
        if isinstance(part, dict):
            chat = part.get("chat") or (part.get("message") or {}).get("chat") or {}
            sender = part.get("from") or {}
            return chat.get("id") or sender.get("id") or update["update_id"]
    return update["update_id"]


# --------------------------------------------------------------------------- request parsing


async def _read_params(request: web.Request) -> Json:
    """Parameters as Telegram reads them: query string, then a JSON, urlencoded or multipart
    body. Files of a multipart body land in params["_files"] as (filename, mime, bytes)."""
    params: Json = dict(request.query)
    if request.method not in ("POST", "PUT") or not request.can_read_body:
        return params
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise ValueError("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
    elif ctype == "multipart/form-data":
        files: dict[str, tuple[str, str, bytes]] = {}
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            data = await part.read(decode=False)
            if part.filename is not None:
                mime = part.headers.get("Content-Type", "application/octet-stream")
                files[part.name] = (part.filename, mime, bytes(data))
            else:
                params[part.name] = bytes(data).decode("utf-8")
        params["_files"] = files
    else:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _error_response(error: ApiError) -> web.Response:
    body: Json = {"ok": False, "error_code": error.code, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.code)


def _json_param(params: Json, name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise bad_request(f"can't parse {name} JSON object") from None
    return value


def _inline_markup(params: Json) -> Json | None:
    markup = _json_param(params, "reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup  # reply keyboards etc.: not used by planbot, stored as given
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if (
                data is not None
                and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise bad_request("BUTTON_DATA_INVALID")
            kinds = {"callback_data", "url", "switch_inline_query", "web_app", "login_url"}
            if not kinds & button.keys():
                raise bad_request("text buttons are unallowed in the inline keyboard")
    if not any(rows):
        return None  # an empty inline keyboard is no keyboard
    return {"inline_keyboard": rows}


def _set_markup(message: Json, markup: Json | None) -> None:
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup


def _not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )


def _document_json(stored: StoredFile) -> Json:
    doc: Json = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if stored.file_name:
        doc["file_name"] = stored.file_name
    if stored.mime_type:
        doc["mime_type"] = stored.mime_type
    return doc


def _str(params: Json, name: str, default: str | None = None) -> str:
    value = params.get(name)
    if value is None:
        if default is not None:
            return default
        raise bad_request(f"{name} is empty" if name != "text" else "message text is empty")
    return str(value)


def _int(params: Json, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"wrong parameter {name} in request") from None


def _bool(params: Json, name: str) -> bool:
    value = params.get(name)
    return value is True or str(value).lower() in ("true", "1")
