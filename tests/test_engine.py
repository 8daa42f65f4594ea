"""The dialog engine alone: no database, no network, no platform library."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from dialogs.service import Conversation
from dialogs.store import MemoryStore
from dialogs.template import Template, load_templates
from dialogs.types import Changes, InboundKind, Snapshot, UserRef
from exports.docx import render_document
from tests.helpers import Clock, Teacher, docx_paragraphs

HP = load_templates()["handlingsplan"]
PLANNING = [
    (path, item)
    for path, item in HP.walk()
    if getattr(item, "phase", None) is not None and item.phase.value == "planning"
]
EXAMPLES = [str(getattr(item, "example", "")) for _, item in PLANNING]


@pytest.fixture
def conversation(store: MemoryStore, clock: Clock) -> Conversation:
    return Conversation(store, {"handlingsplan": HP}, render_document, clock=clock)


@pytest.fixture
def teacher(conversation: Conversation) -> Teacher:
    return Teacher(conversation)


async def answer_first(teacher: Teacher, n: int) -> None:
    """The first n answers; after the last one, the review confirmed."""
    await teacher.start()
    for text in EXAMPLES[:n]:
        await teacher.say(text)
    if n == len(EXAMPLES):
        await confirm_review(teacher)


async def confirm_review(teacher: Teacher) -> None:
    assert teacher.question.heading == "Stämmer planen?", teacher.text()
    await teacher.press("Ja, det stämmer", [teacher.question])


def plan_of(store: MemoryStore):  # type: ignore[no-untyped-def]
    [(_, plan)] = list(store.plans.values())
    return plan


# ---------------------------------------------------------------- flow and progress


async def test_first_start_greets_and_asks_the_first_question_with_progress(
    teacher: Teacher,
) -> None:
    await teacher.start()
    q = teacher.question
    assert q.heading == "Insatsens namn"
    assert q.progress == "Om planen · fråga 1 av 14"
    assert "Hej!" in teacher.text()


async def test_progress_names_the_step_and_question_number(teacher: Teacher) -> None:
    await answer_first(teacher, 4)
    assert teacher.question.heading == "Mål"
    assert teacher.question.progress == "Steg 2 av 4 · fråga 5 av 14"


async def test_every_valid_answer_is_stored_at_once_and_the_next_question_follows(
    teacher: Teacher, store: MemoryStore
) -> None:
    await teacher.start()
    for i, (path, item) in enumerate(PLANNING):
        assert teacher.question.heading == item.label
        await teacher.say(EXAMPLES[i])
        assert path in plan_of(store).answers  # durable before the next question
    assert plan_of(store).status.value == "pagar"  # until the teacher has seen it whole
    await confirm_review(teacher)
    assert plan_of(store).status.value == "planerad"
    [doc] = teacher.documents()
    assert doc.document is not None and not doc.document.draft


async def test_invalid_answer_is_reasked_with_reason_and_example_and_nothing_stored(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 3)
    await teacher.say("vet ej")
    assert "Exempel:" in teacher.text()
    assert teacher.question.heading == "Nulägesanalys"
    assert "nulagesanalys" not in plan_of(store).answers


@pytest.mark.parametrize("text", ["", "   \n\t  "])
async def test_empty_or_blank_answer_is_refused(
    teacher: Teacher, store: MemoryStore, text: str
) -> None:
    await teacher.start()
    await teacher.say(text)
    assert teacher.question.heading == "Insatsens namn"
    assert plan_of(store).answers == {}


@pytest.mark.parametrize(
    "text",
    [
        "Närvaron 📉 sjönk i åk 7 😟, men mentorerna 💪 följer nu upp varje vecka ✅ tillsammans.",
        "תלמידים רבים נעדרים בימי שני; الطلاب يتغيبون كثيرًا أيام الاثنين في الصف السابع",
        "Vi skriver {{ 7*7 }} och {% raw %} i texten, och det ska stå kvar precis så här.",
    ],
)
async def test_unusual_text_is_kept_exactly(
    teacher: Teacher, store: MemoryStore, text: str
) -> None:
    await answer_first(teacher, 3)
    await teacher.say(text)
    assert plan_of(store).answers["nulagesanalys"].text == text


async def test_control_characters_are_removed_not_a_crash(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 3)
    await teacher.say(
        "Närvaron\x00 sjönk\x07 kraftigt i åk 7\x1b under hösten, särskilt på måndagar."
    )
    stored = plan_of(store).answers["nulagesanalys"].text
    assert stored == "Närvaron sjönk kraftigt i åk 7 under hösten, särskilt på måndagar."


async def test_twenty_thousand_characters_are_accepted_over_several_messages(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 3)
    pieces = [("Närvaro " * 500)[:4000] for _ in range(5)]
    for piece in pieces:
        await teacher.say(piece)
        assert "/klar" in teacher.text()
    assert "nulagesanalys" not in plan_of(store).answers  # nothing stored until /klar
    await teacher.say("/klar")
    stored = plan_of(store).answers["nulagesanalys"].text
    assert len(stored) >= 20000 - 10
    assert teacher.question.heading == "Mål"


async def test_a_too_long_combined_answer_is_refused_but_kept(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 4)  # at "Mål", max 10,000 characters
    for _ in range(3):
        await teacher.say("x " * 2000)
    await teacher.say("klar")
    assert "högst" in teacher.text()
    assert "mal" not in plan_of(store).answers
    assert plan_of(store).state.get("draft_text", "").startswith("x x")


# ---------------------------------------------------------------- personal data


def luhn_personnummer(base9: str) -> str:
    digits = [int(c) for c in base9]
    total = 0
    for i, d in enumerate(digits):
        v = d * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return base9[:6] + "-" + base9[6:] + str((10 - total % 10) % 10)


async def test_a_valid_personnummer_triggers_a_warning_with_rephrase_or_keep(
    teacher: Teacher, store: MemoryStore
) -> None:
    pnr = luhn_personnummer("811218987")
    await answer_first(teacher, 3)
    await teacher.say(f"Eleven {pnr} har hög frånvaro och behöver stöd av mentor varje vecka.")
    assert "personnummer" in teacher.text()
    assert "nulagesanalys" not in plan_of(store).answers
    await teacher.press("Skriv om")
    await teacher.say("En elev i åk 7 har hög frånvaro och behöver stöd av mentor varje vecka.")
    assert "personnummer" not in plan_of(store).answers["nulagesanalys"].text
    assert teacher.question.heading == "Mål"


async def test_keeping_an_answer_despite_the_warning_stores_it(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 3)
    await teacher.say("Kontakta kuratorn på kurator@skolan.se eller 070-123 45 67 vid frånvaro.")
    await teacher.press("Behåll ändå")
    assert "kurator@skolan.se" in plan_of(store).answers["nulagesanalys"].text


async def test_a_mistyped_personnummer_is_still_called_a_personnummer(
    teacher: Teacher, store: MemoryStore
) -> None:
    # Born 2001-01-01, last digit wrong: its digits also fit a phone number (010-…).
    valid = luhn_personnummer("010101123")
    wrong = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    await answer_first(teacher, 3)
    await teacher.say(f"Eleven {wrong} har hög frånvaro sedan höstlovet, främst på måndagar.")
    assert "nulagesanalys" not in plan_of(store).answers
    assert "ett personnummer" in teacher.text()
    assert "telefonnummer" not in teacher.text()


async def test_ten_bare_digits_with_a_wrong_check_digit_raise_no_alarm(
    teacher: Teacher, store: MemoryStore
) -> None:
    valid = luhn_personnummer("811218987").replace("-", "")
    wrong = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    await answer_first(teacher, 3)
    await teacher.say(f"Ärendenummer {wrong} gäller frånvaroutredningen för hela åk 7 i höstas.")
    assert "nulagesanalys" in plan_of(store).answers


# ---------------------------------------------------------------- commands


@pytest.mark.parametrize("command", ["/hjalp", "/hjälp", "/Hjälp", "hjälp", "/hjalp@planbot_bot"])
async def test_help_explains_the_question_with_an_example_in_any_spelling(
    teacher: Teacher, command: str
) -> None:
    await answer_first(teacher, 3)
    await teacher.say(command)
    text = teacher.text()
    assert "Hjälp: Nulägesanalys" in text
    assert "Exempel: Närvarostatistiken" in text
    assert "/tillbaka" in text
    assert teacher.question.heading == "Nulägesanalys"


async def test_back_shows_the_previous_question_with_its_answer_and_keep_returns(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 4)
    await teacher.say("/tillbaka")
    q = teacher.question
    assert q.heading == "Nulägesanalys"
    assert "Nuvarande svar: Närvarostatistiken" in q.text
    await teacher.press("Behåll svaret")
    assert teacher.question.heading == "Mål"
    assert len(store.log) == 4  # keeping stored nothing new


async def test_back_then_new_answer_is_appended_and_latest_shown(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 4)
    await teacher.say("/tillbaka")
    await teacher.say("En ny och bättre nulägesanalys med närvarodata från hela läsåret.")
    assert teacher.question.heading == "Mål"
    history = [a.value.text for a in store.log if a.path == "nulagesanalys"]
    assert len(history) == 2  # nothing overwritten
    assert plan_of(store).answers["nulagesanalys"].text.startswith("En ny och bättre")


async def test_back_at_the_first_question_says_so(teacher: Teacher) -> None:
    await teacher.start()
    await teacher.say("/tillbaka")
    assert "första frågan" in teacher.text()
    assert teacher.question.heading == "Insatsens namn"


async def test_skip_refuses_a_required_question(teacher: Teacher, store: MemoryStore) -> None:
    await teacher.start()
    await teacher.say("/hoppa")
    assert "kan inte hoppas över" in teacher.text()
    assert plan_of(store).answers == {}


async def test_skip_an_optional_question_moves_on(store: MemoryStore, clock: Clock) -> None:
    raw = HP.model_dump()
    raw["steps"][0]["items"][2]["required"] = False  # "Upprättad av" made optional
    template = Template.model_validate(raw)
    teacher = Teacher(
        Conversation(store, {"handlingsplan": template}, render_document, clock=clock)
    )
    await answer_first(teacher, 2)
    assert "Frivillig" in (teacher.question.note or "")
    await teacher.press("Hoppa över")
    assert teacher.question.heading == "Nulägesanalys"
    assert plan_of(store).answers["forfattare"].skipped


async def test_edit_jumps_to_an_answer_and_returns_to_where_you_were(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 6)
    assert teacher.question.heading == "Målgrupp"
    await teacher.say("/ändra")
    assert "Vilket svar vill du ändra?" in teacher.text()
    await teacher.press("2. Skola/enhet")
    assert teacher.question.heading == "Skola/enhet"
    await teacher.say("Sätoftaskolan, Höörs kommun")
    assert teacher.question.heading == "Målgrupp"  # back where the teacher was
    assert plan_of(store).answers["enhet"].text == "Sätoftaskolan, Höörs kommun"


async def test_edit_by_typed_number(teacher: Teacher) -> None:
    await answer_first(teacher, 6)
    await teacher.say("/andra")
    await teacher.say("1")
    assert teacher.question.heading == "Insatsens namn"


async def test_overview_lists_answers_and_what_is_missing(teacher: Teacher) -> None:
    await answer_first(teacher, 4)
    await teacher.say("/översikt")
    overview = teacher.last[0]
    assert overview.heading == "Översikt: Tidig uppföljning av frånvaro i åk 7"
    assert "Nulägesanalys:\nNärvarostatistiken" in overview.text
    assert "Saknas: Mål" in overview.text
    assert "4 av 14" in overview.text
    assert teacher.question.heading == "Mål"


async def test_export_of_an_incomplete_plan_is_a_draft_marked_utkast(teacher: Teacher) -> None:
    await answer_first(teacher, 4)
    await teacher.say("/exportera")
    [out] = teacher.documents()
    assert out.document is not None and out.document.draft
    assert out.document.filename.startswith(
        "UTKAST – Handlingsplan – Tidig uppföljning av frånvaro i åk 7 – Ringsjöskolan"
    )
    assert any("UTKAST" in text for _, text in docx_paragraphs(out.document.data))
    assert teacher.question.heading == "Mål"


async def test_pause_then_any_message_resumes_without_storing_it(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 4)
    await teacher.say("/paus")
    assert "sparad" in teacher.text()
    await teacher.say("hej igen")
    assert "Välkommen tillbaka" in teacher.text()
    assert teacher.question.heading == "Mål"
    assert "mal" not in plan_of(store).answers


async def test_start_offers_to_continue_an_unfinished_plan(teacher: Teacher) -> None:
    await answer_first(teacher, 5)
    await teacher.start()
    assert "påbörjad plan" in teacher.text()
    assert "5 av 14" in teacher.text()
    await teacher.press("Fortsätt")
    assert teacher.question.heading == "Aktivitet/ förändrat förhållningssätt/ förändrad rutin"


async def test_several_plans_listed_and_one_resumed(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_first(teacher, 4)
    clock.advance(minutes=1)
    await teacher.say("/ny")
    await teacher.say("Andra planen om måndagsfrånvaro")
    clock.advance(minutes=1)
    await teacher.say("/planer")
    text = teacher.text()
    assert "Andra planen om måndagsfrånvaro" in text and "Tidig uppföljning" in text
    await teacher.press("2. Tidig uppföljning")
    assert teacher.question.heading == "Mål"
    assert len(store.plans) == 2


async def test_delete_a_plan_needs_confirmation(teacher: Teacher, store: MemoryStore) -> None:
    await answer_first(teacher, 4)
    await teacher.say("/radera")
    await teacher.press("Radera den här planen")
    assert "Är du säker" in teacher.text() or "säker" in teacher.text()
    assert len(store.plans) == 1
    await teacher.press("Ja, radera")
    assert store.plans == {}
    assert store.log == []


async def test_delete_cancelled_keeps_everything(teacher: Teacher, store: MemoryStore) -> None:
    await answer_first(teacher, 4)
    await teacher.say("/radera")
    await teacher.press("Radera den här planen")
    await teacher.press("Nej")
    assert len(store.plans) == 1
    assert teacher.question.heading == "Mål"


async def test_delete_all_my_data(teacher: Teacher, store: MemoryStore) -> None:
    await answer_first(teacher, 4)
    await teacher.say("/ny")
    await teacher.say("/radera")
    await teacher.press("Radera alla mina uppgifter")
    await teacher.say("ja")
    assert store.plans == {} and store.users == {}
    assert "borttagna" in teacher.text()


async def test_unknown_command_lists_the_real_ones(teacher: Teacher) -> None:
    await teacher.start()
    await teacher.say("/flyga")
    assert "/flyga känner jag inte igen" in teacher.text()
    assert "/oversikt" in teacher.text()


# ---------------------------------------------------------------- buttons and repeats


async def test_a_double_press_changes_nothing_the_second_time(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 5)
    await teacher.start()
    offer = teacher.last
    await teacher.press("Fortsätt", offer)
    state_before = plan_of(store).state.copy()
    await teacher.press("Fortsätt", offer)
    assert teacher.last[0].notice
    assert "gäller inte längre" in teacher.last[0].text
    assert plan_of(store).state == state_before


async def test_a_repeated_update_is_answered_again_but_stored_once(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 3)
    inbound = teacher.inbound(InboundKind.TEXT, text=EXAMPLES[3])
    first = await teacher.send(inbound)
    again = await teacher.send(inbound)
    assert [a.path for a in store.log].count("nulagesanalys") == 1
    assert first[-1].heading == again[-1].heading == "Mål"
    assert plan_of(store).state["cursor"] == "mal"


async def test_a_photo_or_sticker_gets_an_explanation_and_the_question_again(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 3)
    for media in ("sticker", "photo", "edited"):
        await teacher.send(teacher.inbound(InboundKind.UNSUPPORTED, media=media))
        assert "Inget har ändrats" in teacher.text()
        assert teacher.question.heading == "Nulägesanalys"
    assert len(store.log) == 3


async def test_two_updates_at_once_both_land_after_a_version_retry(clock: Clock) -> None:
    class SlowStore(MemoryStore):
        async def load(self, user: UserRef, key: str) -> Snapshot:
            snap = await super().load(user, key)
            await asyncio.sleep(0.01)  # let the other update load the same version
            return snap

        async def commit(self, snapshot: Snapshot, changes: Changes, key: str) -> None:
            self.commits = getattr(self, "commits", 0) + 1
            await super().commit(snapshot, changes, key)

    store = SlowStore()
    conversation = Conversation(store, {"handlingsplan": HP}, render_document, clock=clock)
    teacher = Teacher(conversation)
    await teacher.start()
    await asyncio.gather(
        teacher.say("Tidig uppföljning av frånvaro"), teacher.say("Ringsjöskolan, Höör")
    )
    plan = plan_of(store)
    assert plan.answers["titel"].text and plan.answers["enhet"].text  # neither lost
    assert len(store.log) == 2


# ---------------------------------------------------------------- follow-up phase


async def test_later_on_the_follow_up_offer_snoozes_it_for_a_week(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_first(teacher, len(EXAMPLES))
    clock.now = dt.datetime(2027, 5, 21, 8, 0, tzinfo=dt.UTC)
    await teacher.say("hej")
    assert "dags att följa upp" in teacher.text()
    await teacher.press("Senare")
    assert "om en vecka" in teacher.text()
    # The next messages, a new start and the next days: not asked again.
    for later in (dt.timedelta(minutes=5), dt.timedelta(days=1), dt.timedelta(days=6)):
        clock.now = dt.datetime(2027, 5, 21, 8, 0, tzinfo=dt.UTC) + later
        await teacher.say("hej igen")
        assert "dags att följa upp" not in teacher.text()
        await teacher.start()
        assert "dags att följa upp" not in teacher.text()
    # A week later the offer is back; a typed "nej" snoozes it again.
    clock.now = dt.datetime(2027, 5, 28, 8, 0, tzinfo=dt.UTC)
    await teacher.say("hej")
    assert "dags att följa upp" in teacher.text()
    await teacher.say("nej")
    assert "om en vecka" in teacher.text()
    await teacher.say("hej")
    assert "dags att följa upp" not in teacher.text()
    # /uppfoljning starts it any time, snoozed or not.
    await teacher.say("/uppfoljning")
    assert teacher.question.heading == "Resultat"


async def test_planned_plan_asks_for_results_on_the_follow_up_date(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_first(teacher, len(EXAMPLES))
    assert plan_of(store).status.value == "planerad"
    assert plan_of(store).state["followup_date"] == "2027-05-20"
    await teacher.start()
    assert "Dags" not in teacher.text()
    clock.now = dt.datetime(2027, 5, 21, 8, 0, tzinfo=dt.UTC)
    await teacher.say("hej")
    assert "dags att följa upp" in teacher.text()
    await teacher.press("Ja, fyll i")
    assert teacher.question.heading == "Resultat"
    assert teacher.question.progress == "Steg 4 av 4 · fråga 15 av 17"
    for text in (
        "Andelen elever med mer än 10 % frånvaro minskade från 14 % till 9 % under läsåret.",
        "Måndagsfrånvaron minskade mest; de snabba samtalen med vårdnadshavare betydde mycket.",
        "Rutinen sprids till åk 8 och 9 under ht-27.",
    ):
        await teacher.say(text)
    await confirm_review(teacher)
    assert plan_of(store).status.value == "klar"
    final = teacher.documents()[-1].document
    assert final is not None and not final.draft
    texts = [t for _, t in docx_paragraphs(final.data)]
    assert any("minskade från 14 % till 9 %" in t for t in texts)


async def test_follow_up_can_be_opened_early_with_a_command(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, len(EXAMPLES))
    await teacher.say("/uppföljning")
    assert teacher.question.heading == "Resultat"


async def test_follow_up_before_planning_is_done_is_refused(teacher: Teacher) -> None:
    await answer_first(teacher, 4)
    await teacher.say("/uppfoljning")
    assert "när planeringsdelen är klar" in teacher.text()
    assert teacher.question.heading == "Mål"


def test_command_menu_is_swedish_and_complete(conversation: Conversation) -> None:
    menu = dict(conversation.command_menu())
    for command in (
        "ny",
        "planer",
        "oversikt",
        "exportera",
        "tillbaka",
        "andra",
        "hjalp",
        "paus",
        "radera",
    ):
        assert menu[command]


def test_every_message_the_engine_can_send_has_swedish_wording() -> None:
    import re
    from pathlib import Path

    from dialogs.commands import MENU
    from dialogs.messages import Messages
    from dialogs.template import AnswerType
    from dialogs.types import PlanStatus

    messages = Messages.load()
    source = "".join(p.read_text(encoding="utf-8") for p in sorted(Path("dialogs").glob("*.py")))
    keys = set(re.findall(r'(?:\bmsg\(|ctx\.say\()\s*"([a-z_.]+[a-z_])"', source))
    keys |= {f"status.{s.value}" for s in PlanStatus}
    keys |= {f"type_hint.{t.value}" for t in AnswerType}
    keys |= {f"command.{c.value}" for c in MENU}
    keys |= {
        f"media.{m}"
        for m in (
            "photo",
            "sticker",
            "voice",
            "audio",
            "video",
            "document",
            "location",
            "contact",
            "edited",
            "other",
        )
    }
    assert len(keys) > 60
    assert sorted(k for k in keys if k not in messages) == []


async def test_start_after_a_finished_plan_does_not_call_it_unfinished(teacher: Teacher) -> None:
    await answer_first(teacher, len(EXAMPLES))
    await teacher.start()
    text = teacher.text()
    assert "påbörjad" not in text
    assert "Välkommen tillbaka" in text and "planerad" in text


async def test_overview_writes_a_date_once(teacher: Teacher) -> None:
    await answer_first(teacher, len(EXAMPLES))
    await teacher.say("/oversikt")
    assert "20 maj 2027 (20 maj 2027)" not in teacher.last[0].text
    assert "20 maj 2027" in teacher.last[0].text


async def test_buttons_still_work_when_the_database_reorders_stored_keys(clock: Clock) -> None:
    """PostgreSQL's JSONB hands dicts back with their keys sorted differently."""

    def reorder(value: object) -> object:
        if isinstance(value, dict):
            return {k: reorder(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reorder(v) for v in value]
        return value

    class ReorderingStore(MemoryStore):
        async def load(self, user: UserRef, key: str) -> Snapshot:
            snap = await super().load(user, key)
            snap.user.state = reorder(snap.user.state)  # type: ignore[assignment]
            for plan in snap.plans.values():
                plan.state = reorder(plan.state)  # type: ignore[assignment]
            return snap

    store = ReorderingStore()
    templates = load_templates()
    teacher = Teacher(Conversation(store, templates, render_document, clock=clock))
    await teacher.start()
    await teacher.press("Handlingsplan")  # a menu stored as {"kind": ..., "ids": [...]}
    assert teacher.question.heading == "Insatsens namn"
    await teacher.say("/radera")
    await teacher.press("Radera den här planen")
    await teacher.press("Ja, radera")
    assert store.plans == {}


# ---------------------------------------------------------------- found by test_engine_fuzz


async def test_an_attachment_of_a_kind_without_its_own_wording_is_explained_not_a_crash(
    teacher: Teacher, store: MemoryStore
) -> None:
    await answer_first(teacher, 3)
    await teacher.send(teacher.inbound(InboundKind.UNSUPPORTED, media="gif"))
    assert "Inget har ändrats" in teacher.text()
    assert teacher.question.heading == "Nulägesanalys"


@pytest.mark.parametrize("text", ["/andra ²", "/andra", "/planer"])
async def test_a_superscript_digit_typed_as_a_number_gets_a_reply_not_a_crash(
    teacher: Teacher, text: str
) -> None:
    await answer_first(teacher, 3)
    await teacher.say(text)
    await teacher.say("²")  # str.isdigit() says yes, int() says no
    assert teacher.last
