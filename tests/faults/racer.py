"""One of the racing processes of test_contention.py: `python -m tests.faults.racer URL P N`
answers N times for the same teacher as process P, as fast as it can, once stdin says "go".
Prints one JSON line: errors, version conflicts met (and retried), seconds."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from bot.app import start_runtime
from bot.settings import Settings
from dialogs.store import VersionConflict
from dialogs.types import Changes, Inbound, InboundKind, Snapshot, UserRef
from tests.channel_prompts import handlingsplan_only

TEACHER = UserRef(channel="race", external_id="larare-1", display_name="Lärare")


async def main(url: str, p: int, n: int) -> None:
    runtime = await start_runtime(
        Settings(database_url=url, prompts_dir=handlingsplan_only(), _env_file=None)  # type: ignore[call-arg]
    )
    store = runtime.conversation.store
    conflicts = 0
    commit = store.commit

    async def counting(snapshot: Snapshot, changes: Changes, key: str) -> None:
        nonlocal conflicts
        try:
            await commit(snapshot, changes, key)
        except VersionConflict:
            conflicts += 1
            raise

    store.commit = counting  # type: ignore[method-assign]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    errors: list[str] = []
    began = time.monotonic()
    for i in range(n):
        inbound = Inbound(
            user=TEACHER, kind=InboundKind.TEXT, key=f"race:{p}:{i}", text=f"Svar {p}-{i:03d}"
        )
        try:
            await runtime.conversation.handle(inbound)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    took = time.monotonic() - began
    await runtime.close()
    print(json.dumps({"errors": errors, "conflicts": conflicts, "seconds": took}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
