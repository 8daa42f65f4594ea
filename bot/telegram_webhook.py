"""`planbot telegram --webhook-url …`: the PTB Application behind our own small tornado server
(PTB's "custom webhook" pattern), so that `/healthz` is served next to the webhook and SIGTERM
or SIGINT stop it within seconds.

Only requests carrying the webhook's secret token (X-Telegram-Bot-Api-Secret-Token) reach the
bot; anything else is 403 and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import signal
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web
from telegram import Update

from bot.app import Runtime
from bot.health import HEALTH_PATH, database_reachable

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def web_app(app: Any, runtime: Runtime, path: str, secret: str) -> tornado.web.Application:
    class UpdateHandler(tornado.web.RequestHandler):
        async def post(self) -> None:
            given = self.request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                self.set_status(403)
                return
            try:
                data = json.loads(self.request.body)
                update = Update.de_json(data, app.bot)
            except (ValueError, TypeError, KeyError):
                self.set_status(400)
                return
            await app.update_queue.put(update)
            self.set_status(200)

    class HealthHandler(tornado.web.RequestHandler):
        async def get(self) -> None:
            ok = await database_reachable(runtime.database)
            self.set_status(200 if ok else 503)
            self.write("ok\n" if ok else "database unreachable\n")

    return tornado.web.Application(
        [
            (rf"{re.escape(path.rstrip('/'))}/?", UpdateHandler),
            (re.escape(HEALTH_PATH), HealthHandler),
        ]
    )


async def serve_webhook(
    app: Any,
    runtime: Runtime,
    *,
    webhook_url: str,
    listen: str,
    port: int,
    secret: str,
    allowed_updates: list[str],
    on_started: Any = None,
) -> None:
    """Serve until SIGTERM/SIGINT. The runtime is the caller's to close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    path = urlsplit(webhook_url).path or "/"
    server = tornado.httpserver.HTTPServer(web_app(app, runtime, path, secret))
    server.listen(port, address=listen)
    try:
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.bot.set_webhook(webhook_url, secret_token=secret, allowed_updates=allowed_updates)
        await app.start()
        log.info("Telegram webhook on %s:%s%s (health: %s)", listen, port, path, HEALTH_PATH)
        if on_started is not None:
            on_started()
        await stop.wait()
    finally:
        server.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.close_all_connections(), 5)
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
