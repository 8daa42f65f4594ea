"""The teacher's data rights (dataskyddsförordningen), for the admin's `planbot admin` and for
the chat command /mina-uppgifter:

- `export_zip`: everything stored about one teacher as a zip — planbot-data.json (the user
  row, the admission, every plan with its current answers and its full answer history) and
  each plan's .docx.
- `delete_user`: all of it deleted through the same path as the teacher's own /radera
  (plans, the answer history, the admission; old idempotency keys unlinked).
- `retention_pass`: plans untouched PLANBOT_RETENTION_MONTHS after they were finished are
  deleted, PLANBOT_RETENTION_NOTICE_DAYS after the teacher was told.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import and_, delete, insert, select

from dialogs.messages import Messages
from dialogs.store import SessionStore
from dialogs.template import Template
from dialogs.types import AnswerRecord, Changes, Document, PlanStatus, UserRef
from exports.docx import local_date, render_docx
from exports.filename import document_filename
from storage.access import members
from storage.datarights import retention_notices
from storage.models import plans, users

DATA_FILE = "planbot-data.json"


class StoreWithHistory(SessionStore, Protocol):
    """A session store that also reads a plan's whole answer history (every version of
    every answer): what a teacher's data export must hold."""

    async def history(self, plan_id: str) -> list[AnswerRecord]: ...


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def export_zip(
    store: StoreWithHistory,
    user: UserRef,
    templates: dict[str, Template],
    *,
    engine: Any = None,
    messages: Messages | None = None,
    now: dt.datetime | None = None,
) -> Document | None:
    """The zip of everything stored about `user`, or None when nothing is."""
    now = now or _now()
    snapshot = await store.load(user, key="")
    if snapshot.user.version == 0 and not snapshot.plans:
        return None
    admission = await _admission(engine, user) if engine is not None else None
    data: dict[str, Any] = {
        "exported_at": now.isoformat(),
        "user": {
            "channel": user.channel,
            "external_id": user.external_id,
            "display_name": user.display_name,
            "state": snapshot.user.state,
        },
        "admission": admission,
        "plans": [],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, plan in enumerate(
            sorted(snapshot.plans.values(), key=lambda p: p.created_at), 1
        ):
            history = await store.history(plan.id)
            entry = plan.model_dump(mode="json")
            entry["history"] = [
                {"path": a.path, "value": a.value.model_dump(mode="json"), "at": a.created_at}
                for a in history
            ]
            template = templates.get(plan.template_id)
            if template is not None:
                draft = plan.status != PlanStatus.DONE
                filename = document_filename(template, plan, local_date(now), draft=draft)
                name = f"{number:02d} {filename}"
                archive.writestr(
                    name,
                    render_docx(
                        template,
                        plan,
                        draft=draft,
                        now=now,
                        messages=messages,
                    ),
                )
                entry["document"] = name
            data["plans"].append(entry)
        archive.writestr(
            DATA_FILE, json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)
        )
    texts = messages or Messages.load()
    return Document(
        filename=texts("data.zip_name", day=local_date(now).isoformat()),
        data=buffer.getvalue(),
        title=texts("data.zip_title"),
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


async def _admission(engine: Any, user: UserRef) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(members.c.org, members.c.admitted_at).where(
                    members.c.channel == user.channel, members.c.external_id == user.external_id
                )
            )
        ).first()
    return None if row is None else {"org": row[0], "admitted_at": row[1].isoformat()}


async def delete_user(store: SessionStore, user: UserRef, *, engine: Any = None) -> bool:
    """Delete everything stored about `user`; False when nothing was."""
    from dialogs.store import VersionConflict

    for _ in range(10):
        snapshot = await store.load(user, key="")
        if snapshot.user.version == 0:
            if engine is not None:  # admitted, never wrote: the admission alone
                async with engine.begin() as conn:
                    gone = await conn.execute(
                        delete(members).where(
                            members.c.channel == user.channel,
                            members.c.external_id == user.external_id,
                        )
                    )
                return bool(gone.rowcount)
            return False
        changes = Changes(user_state={}, delete_user=True)
        try:
            await store.commit(snapshot, changes, f"admin:delete:{uuid.uuid4().hex}")
        except VersionConflict:
            continue
        return True
    raise RuntimeError("the teacher's data kept changing while it was being deleted")


# --------------------------------------------------------------------------- retention


@dataclass(frozen=True)
class Due:
    plan_id: str
    title: str
    user: UserRef


def months_before(when: dt.datetime, months: int) -> dt.datetime:
    year, month = divmod(when.year * 12 + when.month - 1 - months, 12)
    month += 1
    for day in (when.day, 30, 29, 28):
        try:
            return when.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


async def retention_pass(
    engine: Any,
    *,
    months: int,
    notice_days: int,
    tell: Callable[[Due, dt.datetime], Awaitable[bool]],
    now: dt.datetime | None = None,
) -> tuple[int, int]:
    """One pass: tell the teacher of each finished plan untouched for `months` (less the
    notice period) and record it; delete the plans told about `notice_days` ago and not
    touched since. `tell` returns False when the teacher could not be told (then nothing is
    recorded, and the plan is not deleted later). (told, deleted)."""
    if months <= 0:
        return 0, 0
    now = now or _now()
    notice = dt.timedelta(days=notice_days)
    cutoff = months_before(now, months) + notice
    told = deleted = 0
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    plans.c.id,
                    plans.c.title,
                    plans.c.updated_at,
                    users.c.channel,
                    users.c.external_id,
                    retention_notices.c.noticed_at,
                )
                .join(users, users.c.id == plans.c.user_id)
                .outerjoin(retention_notices, retention_notices.c.plan_id == plans.c.id)
                .where(and_(plans.c.status == PlanStatus.DONE.value, plans.c.updated_at < cutoff))
            )
        ).all()
    for plan_id, title, updated_at, channel, external_id, noticed_at in rows:
        if noticed_at is not None and noticed_at >= updated_at:
            if noticed_at + notice <= now:
                async with engine.begin() as conn:
                    gone = await conn.execute(
                        delete(plans).where(plans.c.id == plan_id, plans.c.updated_at == updated_at)
                    )
                deleted += gone.rowcount
            continue
        due = Due(str(plan_id), str(title), UserRef(channel=channel, external_id=external_id))
        if await tell(due, now + notice):
            async with engine.begin() as conn:
                await conn.execute(
                    delete(retention_notices).where(retention_notices.c.plan_id == plan_id)
                )
                await conn.execute(
                    insert(retention_notices).values(plan_id=plan_id, noticed_at=now)
                )
            told += 1
    return told, deleted
