"""A tiny round-robin HTTP proxy on the loopback: several webhook workers behind one address,
as a load balancer puts them. A POST goes to the next worker; a worker that refuses the
connection (killed, still starting) is skipped for the next one, as nginx's
`proxy_next_upstream error` does; a worker that dies mid-request costs the caller a 502, which
the platform then retries."""

from __future__ import annotations

import itertools
from collections import Counter

import aiohttp
from aiohttp import web


class RoundRobinProxy:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends  # base URLs, e.g. http://127.0.0.1:8001
        self._next = itertools.count()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0
        self.forwarded: list[tuple[str, int]] = []  # (backend, status)
        self.errors: Counter[str] = Counter()  # why a request got a 502

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        # A connection per request (no keep-alive to the workers): a killed worker then shows
        # as a refused connection, skipped for the next worker, not as a stale socket.
        self._client = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=10),
            connector=aiohttp.TCPConnector(force_close=True),
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._client is not None
        body = await request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        for _ in range(len(self.backends)):
            backend = self.backends[next(self._next) % len(self.backends)]
            try:
                async with self._client.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as response:
                    data = await response.read()
                    self.forwarded.append((backend, response.status))
                    return web.Response(
                        status=response.status,
                        body=data,
                        content_type=response.content_type if data else None,
                    )
            except aiohttp.ClientConnectorError:
                continue  # nothing sent: the next worker may take it
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.errors[type(exc).__name__] += 1
                self.forwarded.append((backend, 502))
                return web.Response(status=502)  # the worker died with the request
        return web.Response(status=502)
