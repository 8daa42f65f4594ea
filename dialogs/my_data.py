"""/mina-uppgifter: the teacher's right to everything stored about them. The engine only asks
for it (`Outbound.export_user_data`); the service attaches the zip after the turn's commit
(`Conversation.data_export`), so it holds this turn too."""

from __future__ import annotations

from dialogs import asking
from dialogs.context import Ctx
from dialogs.types import Outbound


def send(ctx: Ctx) -> None:
    if not ctx.plans:
        ctx.say("data.export_empty")
    else:
        ctx.out.append(Outbound(text=ctx.msg("data.export"), export_user_data=True))
    asking.prompt(ctx)
