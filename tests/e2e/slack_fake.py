"""A local stand-in for Slack, good enough to drive the real Bolt app end to end.

Two halves, both in one process on 127.0.0.1:

* `SlackFake` is Slack's side of the Web API: an aiohttp server answering `/api/<method>` the
  way Slack does (HTTP 200 with `{"ok": true, ...}` or `{"ok": false, "error": ...}`), checking
  the token and Block Kit's limits, and recording every call. It also serves the upload URL that
  `files.getUploadURLExternal` hands out, and a Socket Mode WebSocket at the URL that
  `apps.connections.open` returns.
* `SlackUser` is a teacher's Slack client: it signs Events API, interactivity and slash-command
  requests the way Slack signs them (`v0=` HMAC-SHA256 over `v0:<timestamp>:<body>`) and POSTs
  them to the app's HTTP endpoint, reads back what the bot posted in the DM, and presses the
  buttons it finds there.

Nothing here knows about planbot; it only speaks Slack.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

BOT_TOKEN = "xoxb-planbot-test"
APP_TOKEN = "xapp-planbot-test"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM_ID = "T0SKOLAN"
BOT_USER_ID = "U0PLANBOT"
BOT_ID = "B0PLANBOT"
APP_ID = "A0PLANBOT"

# Block Kit limits as Slack documents them (messages and the Home tab).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_FIELD = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_HEADER_TEXT = 150
MAX_MESSAGE_TEXT = 40000


class SlackApiFailure(Exception):
    """Answered as `{"ok": false, "error": <code>}`."""

    def __init__(self, error: str, detail: str = "") -> None:
        super().__init__(f"{error}: {detail}" if detail else error)
        self.error = error
        self.detail = detail


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    token: str
    ok: bool = True
    error: str = ""


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    user: str = BOT_USER_ID
    bot_id: str | None = BOT_ID
    ephemeral_for: str | None = None
    edited: bool = False
    files: list[str] = field(default_factory=list)

    @property
    def from_bot(self) -> bool:
        return self.bot_id is not None

    def buttons(self) -> list[dict[str, Any]]:
        return [
            element
            for block in self.blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
            if element.get("type") == "button"
        ]

    def button_labels(self) -> list[str]:
        return [b["text"]["text"] for b in self.buttons()]

    def visible_text(self) -> str:
        """The text a teacher sees: every text object in the blocks, or the fallback."""
        if not self.blocks:
            return self.text
        return "\n".join(_texts_of(self.blocks))

    def as_payload(self) -> dict[str, Any]:
        """The message as Slack puts it into a block_actions payload."""
        out: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "user": self.user,
            "team": TEAM_ID,
        }
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = APP_ID
        return out


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str = ""
    channel: str | None = None
    completed: bool = False


def _texts_of(blocks: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(str(text.get("text", "")))
        for f in block.get("fields", []) or []:
            out.append(str(f.get("text", "")))
        if block.get("type") == "context":
            out.extend(str(e.get("text", "")) for e in block.get("elements", []) if "text" in e)
    return out


def unescape_mrkdwn(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --------------------------------------------------------------------------- Block Kit checks


def _check_text_object(obj: Any, where: str, *, limit: int, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        raise SlackApiFailure("invalid_blocks", f"{where}: must be a text object")
    if plain_only and obj["type"] != "plain_text":
        raise SlackApiFailure("invalid_blocks", f"{where}: must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise SlackApiFailure("invalid_blocks", f"{where}: text must be a non-empty string")
    if len(text) > limit:
        raise SlackApiFailure("invalid_blocks", f"{where}: must be less than {limit + 1} chars")


def validate_blocks(blocks: Any, *, max_blocks: int) -> None:
    """Raise `invalid_blocks` for what Slack rejects; the limits planbot can run into."""
    if not isinstance(blocks, list):
        raise SlackApiFailure("invalid_blocks_format", "blocks must be a list")
    if len(blocks) > max_blocks:
        raise SlackApiFailure("invalid_blocks", f"no more than {max_blocks} items allowed")
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        if not isinstance(block, dict):
            raise SlackApiFailure("invalid_blocks", f"{where}: must be an object")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                raise SlackApiFailure("invalid_blocks", f"{where}/block_id: duplicate")
            block_ids.add(block_id)
        kind = block.get("type")
        if kind == "section":
            if "text" in block:
                _check_text_object(block["text"], f"{where}/text", limit=MAX_TEXT_FIELD)
            elif not block.get("fields"):
                raise SlackApiFailure("invalid_blocks", f"{where}: needs text or fields")
            for j, f in enumerate(block.get("fields", []) or []):
                _check_text_object(f, f"{where}/fields/{j}", limit=2000)
            accessory = block.get("accessory")
            if accessory is not None:
                _check_element(accessory, f"{where}/accessory", action_ids)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                raise SlackApiFailure("invalid_blocks", f"{where}/elements: required")
            if len(elements) > MAX_CONTEXT_ELEMENTS:
                raise SlackApiFailure("invalid_blocks", f"{where}/elements: too many")
            for j, e in enumerate(elements):
                if e.get("type") == "image":
                    continue
                _check_text_object(e, f"{where}/elements/{j}", limit=MAX_TEXT_FIELD)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                raise SlackApiFailure("invalid_blocks", f"{where}/elements: required")
            if len(elements) > MAX_ACTIONS_ELEMENTS:
                raise SlackApiFailure(
                    "invalid_blocks", f"{where}/elements: no more than 25 items allowed"
                )
            for j, e in enumerate(elements):
                _check_element(e, f"{where}/elements/{j}", action_ids)
        elif kind == "header":
            _check_text_object(
                block.get("text"), f"{where}/text", limit=MAX_HEADER_TEXT, plain_only=True
            )
        elif kind == "divider":
            pass
        else:
            raise SlackApiFailure("invalid_blocks", f"{where}/type: unsupported {kind!r}")


def _check_element(element: Any, where: str, action_ids: set[str]) -> None:
    if not isinstance(element, dict) or element.get("type") != "button":
        raise SlackApiFailure("invalid_blocks", f"{where}: only buttons are expected here")
    _check_text_object(element.get("text"), f"{where}/text", limit=MAX_BUTTON_TEXT, plain_only=True)
    value = element.get("value")
    if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
        raise SlackApiFailure("invalid_blocks", f"{where}/value: must be less than 2001 chars")
    action_id = element.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not 0 < len(action_id) <= MAX_ACTION_ID:
            raise SlackApiFailure("invalid_blocks", f"{where}/action_id: bad length")
        if action_id in action_ids:
            raise SlackApiFailure("invalid_blocks", f"{where}/action_id: duplicate action_id")
        action_ids.add(action_id)


# --------------------------------------------------------------------------- the Web API


class SlackFake:
    """Slack's Web API (and Socket Mode endpoint) on 127.0.0.1, recording what the bot does."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        bot_user_id: str = BOT_USER_ID,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.bot_user_id = bot_user_id
        self.calls: list[ApiCall] = []
        self.messages: list[Message] = []
        self.views: dict[str, dict[str, Any]] = {}  # user id -> published Home view
        self.view_ids: dict[str, str] = {}
        self.files: dict[str, UploadedFile] = {}
        self.users: set[str] = set()
        self.fail_next: dict[str, str] = {}  # method -> error code for its next call
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: dict[str, dict[str, Any]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._socket_connected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""  # "http://127.0.0.1:<port>/"

    # ---- lifecycle

    async def start(self) -> SlackFake:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_get("/socket-mode", self._socket)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/"
        return self

    async def close(self) -> None:
        for ws in self.sockets:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackFake:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def api_url(self) -> str:
        """What goes into the WebClient's `base_url` (PLANBOT_SLACK_API_URL)."""
        return self.base_url + "api/"

    # ---- the workspace

    def add_user(self, user_id: str) -> str:
        """A teacher in the workspace; returns the id of their DM with the bot."""
        self.users.add(user_id)
        return self.dm_channel(user_id)

    @staticmethod
    def dm_channel(user_id: str) -> str:
        return "D" + user_id.removeprefix("U")

    def _channel_known(self, channel: str) -> bool:
        return any(self.dm_channel(u) == channel for u in self.users)

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.{next(self._ids):06d}"

    def add_user_message(self, channel: str, user: str, text: str) -> Message:
        """What the teacher wrote, kept in the channel history for readable tests."""
        message = Message(channel=channel, ts=self._next_ts(), text=text, user=user, bot_id=None)
        self.messages.append(message)
        return message

    # ---- reading back

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def bot_messages(self, channel: str) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.channel == channel and m.from_bot and m.ephemeral_for is None
        ]

    def ephemeral_messages(self, channel: str) -> list[Message]:
        return [m for m in self.messages if m.channel == channel and m.ephemeral_for]

    def find_message(self, channel: str, ts: str) -> Message:
        for m in self.messages:
            if m.channel == channel and m.ts == ts:
                return m
        raise KeyError(f"no message {ts} in {channel}")

    def files_in(self, channel: str) -> list[UploadedFile]:
        return [f for f in self.files.values() if f.completed and f.channel == channel]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Until `predicate()` holds; it is checked after every recorded call."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- HTTP handlers

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _request_args(request)
        auth = request.headers.get("Authorization", "")
        token = str(args.pop("token", "")) or auth.removeprefix("Bearer ").strip()
        call = ApiCall(method=method, args=args, token=token)
        try:
            if method in self.fail_next:
                raise SlackApiFailure(self.fail_next.pop(method))
            answer = self._dispatch(method, args, token)
        except SlackApiFailure as exc:
            call.ok, call.error = False, exc.error
            answer = {"ok": False, "error": exc.error}
            if exc.detail:
                answer["response_metadata"] = {"messages": [f"[ERROR] {exc.detail}"]}
        self.calls.append(call)
        await self._notify()
        if call.error == "ratelimited":  # Slack answers 429 and says when to come back
            return web.json_response(answer, status=429, headers={"Retry-After": "0"})
        return web.json_response(answer)

    def _dispatch(self, method: str, args: dict[str, Any], token: str) -> dict[str, Any]:
        if method == "apps.connections.open":
            if token != self.app_token:
                raise SlackApiFailure("invalid_auth")
            return {"ok": True, "url": self.base_url.replace("http", "ws", 1) + "socket-mode"}
        if token != self.bot_token:
            raise SlackApiFailure("not_authed" if not token else "invalid_auth")
        handler = {
            "auth.test": self._auth_test,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }.get(method)
        if handler is None:
            raise SlackApiFailure("unknown_method")
        return handler(args)

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://skolan.slack.com/",
            "team": "Skolan",
            "user": "planbot",
            "team_id": TEAM_ID,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", "")).split(",")
        if len(users) != 1 or users[0] not in self.users:
            raise SlackApiFailure("user_not_found")
        return {"ok": True, "channel": {"id": self.dm_channel(users[0])}}

    def _message_args(self, args: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
        channel = str(args.get("channel", ""))
        if not self._channel_known(channel):
            raise SlackApiFailure("channel_not_found")
        text = args.get("text") or ""
        blocks = _maybe_json(args.get("blocks")) or []
        if not text and not blocks:
            raise SlackApiFailure("no_text")
        if len(text) > MAX_MESSAGE_TEXT:
            raise SlackApiFailure("msg_too_long")
        validate_blocks(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
        return channel, str(text), blocks

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, text, blocks = self._message_args(args)
        message = Message(channel=channel, ts=self._next_ts(), text=text, blocks=blocks)
        self.messages.append(message)
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.as_payload()}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, text, blocks = self._message_args(args)
        user = str(args.get("user", ""))
        if user not in self.users:
            raise SlackApiFailure("user_not_in_channel")
        message = Message(
            channel=channel, ts=self._next_ts(), text=text, blocks=blocks, ephemeral_for=user
        )
        self.messages.append(message)
        return {"ok": True, "message_ts": message.ts}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, text, blocks = self._message_args(args)
        try:
            message = self.find_message(channel, str(args.get("ts", "")))
        except KeyError:
            raise SlackApiFailure("message_not_found") from None
        if not message.from_bot:
            raise SlackApiFailure("cant_update_message")
        message.text, message.blocks, message.edited = text, blocks, True
        return {"ok": True, "channel": channel, "ts": message.ts, "text": text}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id", ""))
        if user not in self.users:
            raise SlackApiFailure("invalid_arguments", "user_id: unknown user")
        view = _maybe_json(args.get("view"))
        if not isinstance(view, dict) or view.get("type") != "home":
            raise SlackApiFailure("invalid_arguments", "view: must be a home view")
        validate_blocks(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS)
        view_id = self.view_ids.setdefault(user, f"V{next(self._ids):08d}")
        self.views[user] = {**view, "id": view_id}
        return {"ok": True, "view": self.views[user]}

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        try:
            length = int(args.get("length") or 0)
        except ValueError:
            raise SlackApiFailure("invalid_arguments") from None
        if not filename or length <= 0:
            raise SlackApiFailure("missing_argument")
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = UploadedFile(id=file_id, filename=filename, length=length)
        return {"ok": True, "upload_url": f"{self.base_url}upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = _maybe_json(args.get("files"))
        if not isinstance(entries, list) or not entries:
            raise SlackApiFailure("invalid_arguments", "files: required")
        channel = args.get("channel_id") or args.get("channels")
        if channel is not None and not self._channel_known(str(channel)):
            raise SlackApiFailure("channel_not_found")
        done: list[dict[str, Any]] = []
        for entry in entries:
            uploaded = self.files.get(str(entry.get("id")))
            if uploaded is None or uploaded.data is None:
                raise SlackApiFailure("file_not_found")
            uploaded.title = str(entry.get("title") or uploaded.filename)
            uploaded.channel = str(channel) if channel else None
            uploaded.completed = True
            done.append({"id": uploaded.id, "name": uploaded.filename, "title": uploaded.title})
        if channel:
            ids = [d["id"] for d in done]
            message = Message(channel=str(channel), ts=self._next_ts(), text="", files=ids)
            message.text = args.get("initial_comment") or ""
            self.messages.append(message)
        return {"ok": True, "files": done}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        uploaded = self.files.get(file_id)
        if uploaded is None:
            return web.Response(status=404, text="not found")
        data = await request.read()
        if request.content_type.startswith("multipart/"):
            return web.Response(status=400, text="the fake takes raw bytes, as slack_sdk sends")
        uploaded.data = data
        self.calls.append(ApiCall(method="upload", args={"file_id": file_id}, token=""))
        await self._notify()
        return web.Response(text=f"OK - {len(data)}")

    # ---- Socket Mode

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._socket_connected.set()
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    self.socket_acks[data["envelope_id"]] = data
                    await self._notify()
        return ws

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            await self._socket_connected.wait()

    async def socket_send(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> str:
        """Push an envelope (`events_api`, `interactive`, `slash_commands`) to the connected
        app, as Slack does in Socket Mode; returns its envelope_id (acked via socket_acks)."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        live = [ws for ws in self.sockets if not ws.closed]
        if not live:
            raise RuntimeError("no Socket Mode connection")
        await live[-1].send_json(envelope)
        return envelope_id


async def _request_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    return args


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        return json.loads(value)
    return value


# --------------------------------------------------------------------------- the teacher's side


def slack_signature(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    status: int
    body: str
    event_id: str = ""


class SlackUser:
    """One teacher using Slack: writes in the DM with the bot, presses buttons, runs the slash
    command, opens the Home tab. Every request is signed and POSTed to the app's HTTP endpoint."""

    def __init__(
        self,
        fake: SlackFake,
        endpoint: str,
        *,
        user_id: str = "U0LARARE1",
        signing_secret: str = SIGNING_SECRET,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.fake = fake
        self.endpoint = endpoint
        self.user_id = user_id
        self.signing_secret = signing_secret
        self.channel = fake.add_user(user_id)
        self._session = session
        self._own_session = session is None
        self._events = itertools.count(1)

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # ---- raw signed requests

    async def post_signed(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": slack_signature(secret or self.signing_secret, ts, body),
            **(headers or {}),
        }
        async with self.session.post(self.endpoint, data=body.encode(), headers=all_headers) as r:
            return Delivery(status=r.status, body=await r.text())

    def event_envelope(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{self.user_id}{next(self._events):06d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    async def post_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Delivery:
        envelope = self.event_envelope(event, event_id)
        headers: dict[str, str] = {}
        if retry_num:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        delivery = await self.post_signed(
            json.dumps(envelope),
            "application/json",
            timestamp=timestamp,
            secret=secret,
            headers=headers,
        )
        delivery.event_id = envelope["event_id"]
        return delivery

    async def deliver_event(
        self,
        event: dict[str, Any],
        *,
        retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0),
        timeout: float = 3.0,
    ) -> Delivery:
        """Deliver an event as Slack's Events API does: a signed POST that must be answered
        with 2xx within 3 seconds, else sent again with the same event_id, X-Slack-Retry-Num
        1, 2, 3 and X-Slack-Retry-Reason (Slack waits about 1 and 5 minutes between retries;
        the delays here are shorter), each time signed anew; after the third retry Slack gives
        up. The last delivery's status (200: acknowledged) and, in `body`, what each attempt
        got ("502,200")."""
        envelope = self.event_envelope(event)
        body = json.dumps(envelope)
        reason = ""
        status = 0
        seen: list[str] = []
        for attempt in range(len(retry_delays) + 1):
            headers: dict[str, str] = {}
            if attempt:
                await asyncio.sleep(retry_delays[attempt - 1])
                headers = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": reason}
            ts = str(int(time.time()))
            headers.update(
                {
                    "Content-Type": "application/json",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": slack_signature(self.signing_secret, ts, body),
                }
            )
            try:
                async with self.session.post(
                    self.endpoint,
                    data=body.encode(),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                ) as response:
                    status = response.status
                    seen.append(str(status))
                    if 200 <= status < 300:
                        break
                    reason = "http_error"
            except TimeoutError:
                status, reason = 0, "http_timeout"
                seen.append(reason)
            except aiohttp.ClientError:
                status, reason = 0, "connection_failed"
                seen.append(reason)
        # body: what each attempt got, e.g. "502,200"
        return Delivery(status=status, body=",".join(seen), event_id=envelope["event_id"])

    async def post_interaction(self, payload: dict[str, Any], **kw: Any) -> Delivery:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post_signed(body, "application/x-www-form-urlencoded", **kw)

    async def post_command(self, command: str, text: str = "", **kw: Any) -> Delivery:
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "skolan",
            "channel_id": self.channel,
            "channel_name": "directmessage",
            "user_id": self.user_id,
            "user_name": "larare",
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"{self.fake.base_url}commands/{uuid.uuid4().hex}",
            "trigger_id": f"{next(self._events)}.{uuid.uuid4().hex[:12]}",
        }
        return await self.post_signed(urlencode(form), "application/x-www-form-urlencoded", **kw)

    # ---- what a teacher does

    def message_event(self, text: str, ts: str) -> dict[str, Any]:
        return {
            "type": "message",
            "channel": self.channel,
            "user": self.user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
            "client_msg_id": str(uuid.uuid4()),
            "team": TEAM_ID,
        }

    async def say(self, text: str, **kw: Any) -> Delivery:
        """Write `text` in the DM. Slack escapes &, < and > in the event's text."""
        message = self.fake.add_user_message(self.channel, self.user_id, text)
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return await self.post_event(self.message_event(escaped, message.ts), **kw)

    def file_event(self, name: str, mimetype: str) -> dict[str, Any]:
        message = self.fake.add_user_message(self.channel, self.user_id, "")
        event = self.message_event("", message.ts)
        event["subtype"] = "file_share"
        event["files"] = [
            {
                "id": f"F{uuid.uuid4().hex[:10].upper()}",
                "name": name,
                "mimetype": mimetype,
                "filetype": name.rsplit(".", 1)[-1],
                "user": self.user_id,
            }
        ]
        return event

    async def send_file(self, name: str, mimetype: str) -> Delivery:
        return await self.post_event(self.file_event(name, mimetype))

    async def slash(self, text: str = "", command: str = "/handlingsplan") -> Delivery:
        return await self.post_command(command, text)

    async def open_home(self) -> Delivery:
        event = {
            "type": "app_home_opened",
            "user": self.user_id,
            "channel": self.channel,
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        if self.user_id in self.fake.views:
            event["view"] = self.fake.views[self.user_id]
        return await self.post_event(event)

    def block_actions_payload(
        self, button: dict[str, Any], container: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return {
            "type": "block_actions",
            "user": {"id": self.user_id, "username": "larare", "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": container,
            "trigger_id": f"{next(self._events)}.{uuid.uuid4().hex[:12]}",
            "team": {"id": TEAM_ID, "domain": "skolan"},
            "is_enterprise_install": False,
            "state": {"values": {}},
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": button.get("block_id", "b"),
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
            **extra,
        }

    async def press(self, label: str, message: Message | None = None) -> Delivery:
        """Press the button labelled `label` on `message` (default: the newest bot message in
        the DM that has buttons)."""
        message = message or self.last_with_buttons()
        button = _button(message.buttons(), label)
        payload = self.block_actions_payload(
            button,
            {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            channel={"id": message.channel, "name": "directmessage"},
            message=message.as_payload(),
            response_url=f"{self.fake.base_url}actions/{uuid.uuid4().hex}",
        )
        return await self.post_interaction(payload)

    async def press_home(self, label: str, *, plan_title: str | None = None) -> Delivery:
        """Press a button on the published Home tab; `plan_title` picks the plan's row."""
        view = self.fake.views[self.user_id]
        payload = self.block_actions_payload(
            _button(home_buttons(view, plan_title), label),
            {"type": "view", "view_id": view["id"]},
            view=view,
        )
        return await self.post_interaction(payload)

    # ---- reading the DM

    def bot_messages(self) -> list[Message]:
        return self.fake.bot_messages(self.channel)

    def last_with_buttons(self) -> Message:
        for message in reversed(self.bot_messages()):
            if message.buttons():
                return message
        raise AssertionError("no bot message with buttons in the DM")

    def files(self) -> list[UploadedFile]:
        return self.fake.files_in(self.channel)


def _button(buttons: list[dict[str, Any]], label: str) -> dict[str, Any]:
    for button in buttons:
        if button["text"]["text"] == label:
            return button
    labels = [b["text"]["text"] for b in buttons]
    raise AssertionError(f"no button {label!r}; there are {labels}")


def home_buttons(view: dict[str, Any], plan_title: str | None = None) -> list[dict[str, Any]]:
    """The Home tab's buttons; with `plan_title`, only those of the actions block that follows
    the first section mentioning that title."""
    blocks: list[dict[str, Any]] = view.get("blocks", [])
    if plan_title is None:
        return [e for b in blocks if b.get("type") == "actions" for e in b["elements"]]
    seen = False
    for block in blocks:
        text = block.get("text")
        if (
            not seen
            and isinstance(text, dict)
            and plan_title in unescape_mrkdwn(str(text.get("text", "")))
        ):
            seen = True
        elif seen and block.get("type") == "actions":
            return list(block["elements"])
    raise AssertionError(f"no plan {plan_title!r} with buttons on the Home tab")
