"""The emulator itself: it must answer like api.telegram.org, and refuse what Telegram refuses.

Plain aiohttp client calls, so these tests say nothing about python-telegram-bot; a last test
drives it with PTB's own `Bot` to prove the two speak the same wire format.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import telegram
from telegram.constants import ChatAction, ParseMode

from tests.e2e.telegram_emulator import TelegramEmulator, parse_html

TEACHER = 5550001


@pytest_asyncio.fixture
async def tg() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    tg: TelegramEmulator,
    method: str,
    token: str | None = None,
    **params: Any,
) -> tuple[int, dict[str, Any]]:
    url = f"{tg.base_url}{token or tg.token}/{method}"
    async with http.post(url, json=params) as response:
        return response.status, await response.json()


async def test_get_me_answers_with_the_bot_and_a_wrong_token_is_unauthorized(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, tg, "getMe")
    assert status == 200 and body["ok"] is True
    assert body["result"]["is_bot"] is True and body["result"]["username"] == tg.bot_username

    status, body = await call(http, tg, "getMe", token="123456789:wrong")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_is_not_found(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, tg, "sendTelepathy")
    assert (status, body["error_code"], body["description"]) == (404, 404, "Not Found")


async def test_get_updates_returns_a_teachers_message_until_confirmed_by_offset(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    update = tg.send_text(TEACHER, "/start")
    _, body = await call(http, tg, "getUpdates")
    assert [u["update_id"] for u in body["result"]] == [update["update_id"]]
    message = body["result"][0]["message"]
    assert message["text"] == "/start"
    assert message["chat"] == {"id": TEACHER, "type": "private", "first_name": "Lärare"}
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

    _, again = await call(http, tg, "getUpdates")
    assert again["result"] == body["result"]  # not confirmed yet: delivered again

    _, after = await call(http, tg, "getUpdates", offset=update["update_id"] + 1)
    assert after["result"] == []
    assert tg.pending_updates == 0


async def test_get_updates_long_polls_until_an_update_arrives(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    poll = asyncio.create_task(call(http, tg, "getUpdates", timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    tg.send_text(TEACHER, "Hej")
    _, body = await asyncio.wait_for(poll, 2)
    assert [u["message"]["text"] for u in body["result"]] == ["Hej"]


async def test_get_updates_times_out_empty(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    _, body = await call(http, tg, "getUpdates", timeout=1)
    assert body == {"ok": True, "result": []}
    assert 0.9 <= loop.time() - started < 2


async def test_a_second_poller_ends_the_first_with_conflict(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    first = asyncio.create_task(call(http, tg, "getUpdates", timeout=5))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(call(http, tg, "getUpdates", timeout=1))
    status, body = await asyncio.wait_for(first, 2)
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")
    await second


async def test_send_message_accepts_telegram_html_and_stores_the_shown_text(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    tg.send_text(TEACHER, "/start")
    html = '<i>Steg 1 av 4</i>\n<b>Nuläge</b> &lt;3 &amp; <a href="https://x.se">länk</a> &#229;'
    status, body = await call(
        http, tg, "sendMessage", chat_id=TEACHER, text=html, parse_mode="HTML"
    )
    assert status == 200, body
    assert body["result"]["text"] == "Steg 1 av 4\nNuläge <3 & länk å"
    assert tg.bot_messages(TEACHER)[-1]["text"] == "Steg 1 av 4\nNuläge <3 & länk å"
    assert tg.html_of(tg.bot_messages(TEACHER)[-1]) == html


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unexpected end tag"),
        ("1 < 2", "Unsupported start tag"),
        ("A & B", "Character '&' is reserved"),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;"'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<code><b>x</b></code>", 'Can\'t nest "b" inside "code"'),
    ],
)
async def test_send_message_refuses_html_telegram_cannot_parse(
    tg: TelegramEmulator, http: aiohttp.ClientSession, html: str, reason: str
) -> None:
    tg.send_text(TEACHER, "/start")
    status, body = await call(
        http, tg, "sendMessage", chat_id=TEACHER, text=html, parse_mode="HTML"
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse entities: ")
    assert reason in body["description"]
    assert tg.bot_messages(TEACHER) == []


def test_html_parser_knows_every_tag_telegram_documents() -> None:
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span>'
        "<tg-spoiler>t</tg-spoiler><a href='tg://user?id=1'>a</a><code>c</code>"
        '<pre><code class="language-python">x</code></pre><blockquote expandable>q</blockquote>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>&quot;&#x41;'
    )
    assert parse_html(html) == 'bsieunskdptacxq👍"A'


async def test_message_length_is_checked_after_entity_parsing(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    tg.send_text(TEACHER, "/start")
    fits = "<b>" + "&amp;" * 4096 + "</b>"  # 4,096 characters once parsed
    status, _ = await call(http, tg, "sendMessage", chat_id=TEACHER, text=fits, parse_mode="HTML")
    assert status == 200
    status, body = await call(http, tg, "sendMessage", chat_id=TEACHER, text="x" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    status, body = await call(http, tg, "sendMessage", chat_id=TEACHER, text="😀" * 2049)
    assert status == 400  # 4,098 UTF-16 code units
    status, body = await call(http, tg, "sendMessage", chat_id=TEACHER, text=" <b> </b> ",
                              parse_mode="HTML")  # fmt: skip
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


async def test_send_message_to_a_chat_that_never_wrote_is_refused(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, tg, "sendMessage", chat_id=999, text="Hej")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


def keyboard(*data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": f"Knapp {d}", "callback_data": d}] for d in data]}


async def test_callback_data_must_be_1_to_64_bytes(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    tg.send_text(TEACHER, "/start")
    ok = "å" * 32  # 64 bytes in UTF-8
    status, _ = await call(
        http, tg, "sendMessage", chat_id=TEACHER, text="Välj", reply_markup=keyboard(ok)
    )
    assert status == 200
    for bad in ("å" * 33, ""):
        status, body = await call(
            http, tg, "sendMessage", chat_id=TEACHER, text="Välj", reply_markup=keyboard(bad)
        )
        assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


async def test_a_pressed_button_becomes_a_callback_query_and_needs_one_answer(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    tg.send_text(TEACHER, "/start")
    _, sent = await call(
        http, tg, "sendMessage", chat_id=TEACHER, text="Ja eller nej?",
        reply_markup=keyboard("ja", "nej"),
    )  # fmt: skip
    message = sent["result"]
    with pytest.raises(LookupError):
        tg.press(message, "kanske")
    press = tg.press(message, "ja")
    _, updates = await call(http, tg, "getUpdates")
    query = updates["result"][-1]["callback_query"]
    assert query["data"] == "ja" and query["message"]["message_id"] == message["message_id"]

    status, body = await call(
        http, tg, "answerCallbackQuery", callback_query_id=query["id"], text="x" * 201
    )
    assert (status, body["description"]) == (400, "Bad Request: MESSAGE_TOO_LONG")
    status, _ = await call(
        http, tg, "answerCallbackQuery", callback_query_id=query["id"], text="Sparat"
    )
    assert status == 200 and tg.callback_answer(press).answer_text == "Sparat"
    status, body = await call(http, tg, "answerCallbackQuery", callback_query_id=query["id"])
    assert status == 400 and "query is too old" in body["description"]


async def test_editing_removes_a_keyboard_once_and_refuses_an_edit_that_changes_nothing(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    tg.send_text(TEACHER, "/start")
    _, sent = await call(
        http, tg, "sendMessage", chat_id=TEACHER, text="Välj", reply_markup=keyboard("a")
    )
    mid = sent["result"]["message_id"]
    status, body = await call(http, tg, "editMessageReplyMarkup", chat_id=TEACHER, message_id=mid)
    assert status == 200 and "reply_markup" not in body["result"]
    assert "reply_markup" not in tg.bot_messages(TEACHER)[-1]
    status, body = await call(http, tg, "editMessageReplyMarkup", chat_id=TEACHER, message_id=mid)
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified")

    status, body = await call(
        http, tg, "editMessageText", chat_id=TEACHER, message_id=mid, text="Välj"
    )
    assert status == 400 and "message is not modified" in body["description"]
    status, body = await call(
        http, tg, "editMessageText", chat_id=TEACHER, message_id=mid, text="<b>Vald</b>",
        parse_mode="HTML",
    )  # fmt: skip
    assert status == 200 and body["result"]["text"] == "Vald"

    status, body = await call(
        http, tg, "editMessageText", chat_id=TEACHER, message_id=9999, text="x"
    )
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")
    users_message = tg.send_text(TEACHER, "mitt svar")["message"]["message_id"]
    status, body = await call(
        http, tg, "editMessageText", chat_id=TEACHER, message_id=users_message, text="x"
    )
    assert (status, body["description"]) == (400, "Bad Request: message can't be edited")


async def test_chat_actions_and_commands_are_recorded_and_checked(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    tg.send_text(TEACHER, "/start")
    status, _ = await call(http, tg, "sendChatAction", chat_id=TEACHER, action="upload_document")
    assert status == 200 and tg.chat_actions == [(TEACHER, "upload_document")]
    status, body = await call(http, tg, "sendChatAction", chat_id=TEACHER, action="dancing")
    assert status == 400

    commands = [{"command": "ny", "description": "Starta en ny plan"}]
    status, _ = await call(http, tg, "setMyCommands", commands=commands)
    assert status == 200 and tg.commands == commands
    for bad in ({"command": "översikt", "description": "x"}, {"command": "Ny", "description": "x"}):
        status, body = await call(http, tg, "setMyCommands", commands=[bad])
        assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")
    status, body = await call(
        http, tg, "setMyCommands", commands=[{"command": "ny", "description": ""}]
    )
    assert status == 400


async def test_send_document_multipart_then_get_file_and_download(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    tg.send_text(TEACHER, "/start")
    form = aiohttp.FormData()
    form.add_field("chat_id", str(TEACHER))
    form.add_field("document", b"PK\x03\x04docx", filename="Handlingsplan.docx")
    async with http.post(f"{tg.base_url}{tg.token}/sendDocument", data=form) as response:
        assert response.status == 200
        body = await response.json()
    document = body["result"]["document"]
    assert document["file_name"] == "Handlingsplan.docx"
    assert [m["document"]["file_id"] for m in tg.documents(TEACHER)] == [document["file_id"]]
    assert await tg.download(document["file_id"]) == b"PK\x03\x04docx"

    status, body = await call(http, tg, "getFile", file_id="nope")
    assert (status, body["description"]) == (400, "Bad Request: invalid file_id")
    async with http.get(f"{tg.base_file_url}wrong-token/documents/file_0.docx") as response:
        assert response.status == 401


async def test_get_updates_conflicts_while_a_webhook_is_set_and_webhook_gets_updates(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    from aiohttp import web

    received: list[tuple[str | None, dict[str, Any]]] = []
    fail_first = [True]

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        if fail_first[0]:
            fail_first[0] = False
            return web.Response(status=500)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        status, body = await call(
            http, tg, "setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="bad token!"
        )
        assert status == 400
        status, _ = await call(
            http, tg, "setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t_-"
        )
        assert status == 200
        status, body = await call(http, tg, "getUpdates")
        assert status == 409 and "webhook is active" in body["description"]

        update = tg.send_text(TEACHER, "Hej")
        for _ in range(200):  # the emulator counts a delivery done once the 200 is read
            if len(received) >= 2 and tg.pending_updates == 0:
                break
            await asyncio.sleep(0.05)
        # The first delivery failed (500), so Telegram tries the same update again.
        assert [(s, u["update_id"]) for s, u in received] == [
            ("s3cr3t_-", update["update_id"]),
            ("s3cr3t_-", update["update_id"]),
        ]
        assert tg.pending_updates == 0

        status, _ = await call(http, tg, "deleteWebhook")
        assert status == 200
        status, _ = await call(http, tg, "getUpdates")
        assert status == 200
    finally:
        await runner.cleanup()


async def test_form_encoded_requests_are_read_like_json(
    tg: TelegramEmulator, http: aiohttp.ClientSession
) -> None:
    tg.send_text(TEACHER, "/start")
    form = {
        "chat_id": str(TEACHER),
        "text": "Välj",
        "reply_markup": json.dumps(keyboard("a")),
    }
    async with http.post(f"{tg.base_url}{tg.token}/sendMessage", data=form) as response:
        assert response.status == 200
    assert tg.bot_messages(TEACHER)[-1]["reply_markup"] == keyboard("a")


async def test_python_telegram_bot_speaks_the_same_wire_format(tg: TelegramEmulator) -> None:
    update = tg.send_text(TEACHER, "/start")
    bot = telegram.Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)
    async with bot:
        assert bot.username == tg.bot_username
        [got] = await bot.get_updates()
        assert got.update_id == update["update_id"] and got.message.text == "/start"
        markup = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Ja", callback_data="ja")]]
        )
        sent = await bot.send_message(TEACHER, "<b>Fråga</b>", parse_mode=ParseMode.HTML,
                                      reply_markup=markup)  # fmt: skip
        assert sent.text == "Fråga"
        tg.press(tg.bot_messages(TEACHER)[-1], "ja")
        updates = await bot.get_updates(offset=update["update_id"] + 1)
        query = updates[-1].callback_query
        assert query is not None and query.data == "ja"
        await query.answer("Sparat")
        await bot.edit_message_reply_markup(TEACHER, sent.message_id, reply_markup=None)
        assert "reply_markup" not in tg.bot_messages(TEACHER)[-1]
        with pytest.raises(telegram.error.BadRequest, match="not modified"):
            await bot.edit_message_reply_markup(TEACHER, sent.message_id, reply_markup=None)

        await bot.send_chat_action(TEACHER, ChatAction.UPLOAD_DOCUMENT)
        doc = await bot.send_document(
            TEACHER, telegram.InputFile(b"PK-data", filename="Handlingsplan – Ö – 2026.docx")
        )
        assert doc.document is not None
        assert doc.document.file_name == "Handlingsplan – Ö – 2026.docx"
        file = await bot.get_file(doc.document.file_id)
        assert bytes(await file.download_as_bytearray()) == b"PK-data"
        await bot.set_my_commands([telegram.BotCommand("hjalp", "Hjälp med frågan")])
        assert tg.commands == [{"command": "hjalp", "description": "Hjälp med frågan"}]

        with pytest.raises(telegram.error.BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(TEACHER, "a < b", parse_mode=ParseMode.HTML)
    bad = telegram.Bot("123:wrong", base_url=tg.base_url)
    with pytest.raises(telegram.error.InvalidToken):
        await bad.initialize()
