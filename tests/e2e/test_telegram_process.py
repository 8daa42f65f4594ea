"""`planbot telegram` as an operator runs it: a separate process, configured by environment
variables, talking to the Bot API emulator — killed mid-plan, started with a bad token, and run
behind a webhook."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

from tests.e2e.telegram_emulator import Json, TelegramEmulator

if TYPE_CHECKING:
    from tests.e2e.telegram_fixtures import BotProcess

pytest_plugins = ["tests.e2e.telegram_fixtures"]

TEACHER = 31337


def heading_of(message: Json) -> str | None:
    lines = message.get("text", "").split("\n")
    return lines[1] if len(lines) > 1 and "fråga " in lines[0] else None


async def says(tg: TelegramEmulator, text: str, timeout: float = 15.0) -> list[Json]:
    before = len(tg.bot_messages(TEACHER))
    tg.send_text(TEACHER, text)
    return await tg.wait_until_quiet(TEACHER, before, timeout=timeout)


async def test_bot_killed_mid_plan_continues_where_the_teacher_was(
    telegram_api: TelegramEmulator, bot_process: BotProcess
) -> None:
    await bot_process.start()
    replies = await says(telegram_api, "/start")
    assert heading_of(replies[-1]) == "Insatsens namn"
    await says(telegram_api, "Tidig uppföljning av frånvaro i åk 7")
    replies = await says(telegram_api, "Ringsjöskolan, Höörs kommun")
    assert heading_of(replies[-1]) == "Upprättad av"

    await bot_process.kill()
    # While the bot is down the teacher answers anyway; Telegram keeps the update.
    before = len(telegram_api.bot_messages(TEACHER))
    telegram_api.send_text(TEACHER, "Arbetslag 7–9 och elevhälsoteamet")

    await bot_process.start()
    replies = await telegram_api.wait_until_quiet(TEACHER, before, timeout=15)
    assert heading_of(replies[-1]) == "Nulägesanalys"  # nothing lost, nothing repeated

    # The next day: the teacher opens the chat again and is offered to continue.
    replies = await says(telegram_api, "/start")
    offer = replies[-1]
    assert "reply_markup" in offer, offer["text"]
    before = len(telegram_api.bot_messages(TEACHER))
    telegram_api.press_label(offer, "Fortsätt")
    replies = await telegram_api.wait_until_quiet(TEACHER, before)
    assert heading_of(replies[-1]) == "Nulägesanalys"

    overview = "\n".join(m["text"] for m in await says(telegram_api, "/oversikt"))
    for answer in (
        "Tidig uppföljning av frånvaro i åk 7",
        "Ringsjöskolan, Höörs kommun",
        "Arbetslag 7–9 och elevhälsoteamet",
    ):
        assert overview.count(answer) >= 1, answer
    assert telegram_api.errors() == []
    assert await bot_process.stop() == 0  # SIGTERM: a clean stop
    assert "Traceback" not in bot_process.output()


async def test_a_missing_token_says_what_to_set_and_exits_2(
    telegram_api: TelegramEmulator, bot_process: BotProcess
) -> None:
    code, err = await bot_process.run_to_end(PLANBOT_TELEGRAM_TOKEN="")
    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert "PLANBOT_TELEGRAM_TOKEN" in err and "@BotFather" in err


async def test_a_rejected_token_says_what_to_set_and_exits_2(
    telegram_api: TelegramEmulator, bot_process: BotProcess
) -> None:
    code, err = await bot_process.run_to_end(PLANBOT_TELEGRAM_TOKEN="123456:wrong")
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert "PLANBOT_TELEGRAM_TOKEN" in last and "@BotFather" in last
    assert "Traceback" not in err
    assert [c.method for c in telegram_api.calls] == ["getMe"] or all(
        c.error == "Unauthorized" for c in telegram_api.calls
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_webhook_mode_takes_updates_with_the_secret_and_refuses_others(
    telegram_api: TelegramEmulator, bot_process: BotProcess
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    await bot_process.start("--webhook-url", url, "--port", str(port), "--listen", "127.0.0.1")

    replies = await says(telegram_api, "/start")
    assert heading_of(replies[-1]) == "Insatsens namn"
    hook = telegram_api.webhook
    assert hook is not None and hook.url == url
    assert hook.secret_token and len(hook.secret_token) >= 32  # made up at start
    # Every delivery carried the secret; the bot took the update once its server was up.
    assert {secret for _, secret, _ in hook.deliveries} == {hook.secret_token}
    assert hook.deliveries[-1][2] == 200

    # Someone who knows the URL but not the secret: 403, and the plan does not move.
    seen = len(telegram_api.bot_messages(TEACHER))
    fake = {
        "update_id": 1,
        "message": {
            "message_id": 999,
            "date": 0,
            "chat": {"id": TEACHER, "type": "private", "first_name": "Lärare"},
            "from": {"id": TEACHER, "is_bot": False, "first_name": "Lärare"},
            "text": "Förfalskat svar",
        },
    }
    assert await telegram_api.post_to_webhook(fake, secret_token="fel-hemlighet") == 403
    assert await telegram_api.post_to_webhook(fake, secret_token=None) == 403

    # A real answer still goes through, and is the one stored.
    replies = await says(telegram_api, "Tidig uppföljning av frånvaro i åk 7")
    assert len(telegram_api.bot_messages(TEACHER)) == seen + len(replies)
    assert heading_of(replies[-1]) == "Skola/enhet"
    overview = "\n".join(m["text"] for m in await says(telegram_api, "/oversikt"))
    assert "Förfalskat svar" not in overview
    assert "Tidig uppföljning av frånvaro i åk 7" in overview

    # Telegram re-delivers an update whose webhook call it thinks failed: nothing changes.
    before = len(telegram_api.bot_messages(TEACHER))
    update = telegram_api.send_text(TEACHER, "Ringsjöskolan")
    replies = await telegram_api.wait_until_quiet(TEACHER, before)
    assert heading_of(replies[-1]) == "Upprättad av"
    before = len(telegram_api.bot_messages(TEACHER))
    telegram_api.deliver_again(update)
    for _ in range(100):  # taken with 200: the inbox has it, processed already
        if [d for d in hook.deliveries if d[0] == update["update_id"] and d[2] == 200][1:]:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert len(telegram_api.bot_messages(TEACHER)) == before  # not answered twice
    replies = await says(telegram_api, "/oversikt")
    assert "\n".join(m["text"] for m in replies).count("Ringsjöskolan") == 1
    assert telegram_api.errors() == []
