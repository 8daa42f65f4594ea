"""The åtgärdsplan (seed 000), filled in as Höör did (seed 002), through the engine and into Word.

The conversation below is written from seed 002: every answer is Höör's text (list cells one
item a line, as in the seed's bullets). Where the seed answers once for the whole plan but the
template asks per insats (Tidplan, Uppföljning: "Gör en tidsplan för varje insats", "En gång
för varje insats"), Höör's lines are given to the insats they are about, or to both. Höör's
"1. Utvecklingsområdet" names an area of its own (Annat) followed by two sentences of
background; those go to the seed's *Kort bakgrund*.
"""

from __future__ import annotations

import pytest

from dialogs.service import Conversation
from dialogs.store import MemoryStore
from dialogs.template import load_templates
from dialogs.types import Outbound, PlanRecord
from exports.docx import render_document
from tests.docx_reading import (
    cell_bullets,
    headings,
    open_docx,
    tables_under,
    text_under,
)
from tests.helpers import Clock, Teacher

TEMPLATES = load_templates()
AP = TEMPLATES["atgardsplan"]

AREA = "Utveckla ledningsorganisationen och undervisningen"
BAKGRUND = (
    "Vi vill, även på huvudmannanivå ha elevers lärande i fokus i samtliga insatser.\n\n"
    "Vi vill utifrån forskning utveckla effektiva ledningsteam med uppdragsfokus och hållbara "
    "strukturer"
)
INSATS_1 = (
    "Utifrån forskning utveckla effektiva ledningsteam med uppdragsfokus och hållbara strukturer "
    "(https://www.skolledarna.se/Skolledaren/Artikelarkiv/2019/losning-med-stod-av-psykologer/)"
)
INSATS_2 = (
    "Strategisk handledning till ledningsgruppen och individuellt till deltagarna i denna grupp"
)
PROBLEM = [
    "Låga resultat i matematik på flera skolenheter",
    "Brister i språkutveckling på flera skolenheter",
    "Låg behörighet till gymnasiet generellt i Höör",
]
ORSAKER_1 = [
    "Styrkedjan brister",
    "Brister i SKA och ledarskapet på olika nivåer",
    "Bristande stöd för ett distribuerat ledarskap på skolenhetsnivå vilket leder till "
    "otydlighet i roller och ansvar i ledningsgruppen.",
]
MAL_1 = [
    "Klara förväntningar HM-Rektorer",
    "Drift/utv är tydlig i möten och processer",
    "Tydlighet avseende roller och ansvar",
    "Det sker en systematisk uppföljning av läroplansmålen",
    "Distribuerat ledarskap fungerar vilket ger möjlighet att fokusera på sin roll inom SKA",
]
FORBATTRINGAR_1 = [
    "Huvudmannen får in analyserade resultat från skolorna (Enligt beslutat årshjul)",
    "Vi ser en bättre uppföljning av närvaron,",
    "Vi ser en bättre uppföljning av värdegrundsfrågorna",
    "Vi ser en bättre uppföljning av elevinflytandet",
]
EFFEKT = ["Högre resultat i NP 3,6,9", "Högre behörighet till gymnasiet"]
ORSAKER_2 = [
    "Ledningsgruppens deltagares uppdrag ser olika ut. Individuellt stöd saknas för att klara "
    "det systematiska kvalitetsarbetet fullt ut",
    "Skolledarna och sektorsledningen har inte alltid förutsättningar att genomföra sitt "
    "ledarskap fullt ut.",
]
MAL_2 = [
    "Skolledarna och förvaltningsledningen äger sin del av det systematiska kvalitetsarbetet",
    "Det distribuerade ledarskapet finns på plats på skolorna vilket leder till att "
    "organisationen står på egna ben och rektor kan vara pedagogisk ledare.",
]
FORBATTRINGAR_2 = ["Förskjutning av fokus för mer pedagogiskt ledarskap"]
DELTAGARE = "Förvaltningsledning, skolledning och strategisk personal ca 10 stycken"
TIDPLAN_1 = (
    "Vi vill ha kompetensutvecklingsinsatser från lärosätet ca var 6:e vecka under perioden "
    "ht-20-vt -22"
)
TIDPLAN_2 = (
    "Grupphandledning/individuell handledning ges parallellt med kompetensutvecklingsinsatserna"
)
ANSVAR = (
    "Utvecklingsstrateg organiserar och följer upp, men själva genomförandet önskar vi att "
    "insatsen ska innefatta."
)
DELAKTIGHET = (
    "Rektorerna och skolhuvudmannen är delaktiga i utvärdering och i genomförandet, eftersom "
    "såväl skolhuvudmannen och rektorerna ingår som deltagare i insatsen."
)
NAR = "I samband med de avstämningar som görs inom det systematiska kvalitetsarbetets årshjul."
HUR = (
    "På samma sätt som de avstämningar som görs inom det systematiska kvalitetsarbetets "
    "årshjul.\n\nSjälva insatsens effekter kommer att följas upp inom det systematiska "
    "kvalitetsarbetet genom att ställa frågan syns effekter som vi efterfrågar och varför? "
    "Se konkreta effekter under respektive insats."
)
VEM = "Utvecklingsstrateg och sektorsledning."
STYRKOR = (
    "Hög motivation och en vilja till förändring hos deltagarna. Ett öppet och tryggt klimat "
    "bland deltagarna. Det finns en basstruktur för arbetet och vissa förändringar är "
    "påbörjade i den önskade riktningen."
)
RISKER = (
    "Personalomsättning i gruppen. Personberoende på grund av att det är en liten "
    "organisation. Vid oförutsedda händelser riskerar långsiktiga insatser att nedprioriteras "
    "före akuta."
)
FOREBYGGANDE = (
    "Det finns en medvetenhet om att vi behöver ha en beredskap för att insatsen ska kunna "
    "fortgå trots eventuella förändringar i personalsammansättningen. En god planering och en "
    "struktur för arbetet förebygger problem. Digitala dokumentationssystem som är "
    "tillgängliga för alla deltagare finns och används, vilket möjliggör att alla kan vara "
    "involverade."
)
ERFARENHETSSPRIDNING = "Nätverksträffar, kommunledningsgruppen."
KOSTNADER = [
    "Förstärkning av ledningsresurser på skolorna som ska syfta till att stärka processerna "
    "och delaktigheten i kvalitetsarbetet.",
    "Kostnader för personal som uppgår till ca 800 tkr.",
    "Personlig ledarskapsutbildning för alla skolledare och sektorsledning ca 250 tkr.",
    "Tillfällig förstärkning till 9 nyckelpersoner (5 Sätöfta, 4 Ringsjö, 1 Tjörnarps) á 10 % "
    "under perioden aug-20 – juni -22 för att delta i utbildning/handledning inom de insatser "
    "som planeras.",
    "Tillfällig förstärkning om ca 20 % till en person för att samordna SBS-insatserna "
    "aug-20-juni -22.",
]


def lines(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


# (the question the bot asks, what the teacher does): "say" text, "press" a button, "/hoppa".
Step = tuple[str, str, str]


def insats_steps(
    area: int,
    n: int,
    name: str,
    problem: list[str],
    orsaker: list[str],
    mal: list[str],
    forbattringar: list[str],
    effekt: list[str],
) -> list[Step]:
    where = f"Område {area} › Insats {n} › "
    return [
        (where + "Namn", "say", name),
        (where + "Problem", "say", lines(problem)),
        (where + "Orsaker", "say", lines(orsaker)),
        (where + "Mål", "say", lines(mal)),
        (where + "Synliga förbättringar", "say", lines(forbattringar)),
        (where + "Förväntad effekt", "say", lines(effekt)),
    ]


# Before a plan is klar (or planerad) the teacher sees it whole and confirms.
REVIEW: Step = ("Stämmer planen?", "press", "Ja, det stämmer")


def hoor_conversation(*, costs: bool = True) -> list[Step]:
    per = "Område 1 › Insats {n}"
    return [
        ("Huvudman och enhet", "say", "Huvudman Höör"),
        ("Datum", "say", "/hoppa"),
        (AP.question("bakgrund").label, "say", BAKGRUND),
        ("Område 1 › Utvecklingsområde", "press", "Annat"),
        ("Område 1 › Utvecklingsområde", "say", AREA),
        *insats_steps(1, 1, INSATS_1, PROBLEM, ORSAKER_1, MAL_1, FORBATTRINGAR_1, EFFEKT),
        ("Lägga till en insats till i det här området?", "press", "Ja"),
        *insats_steps(1, 2, INSATS_2, PROBLEM, ORSAKER_2, MAL_2, FORBATTRINGAR_2, EFFEKT),
        ("Lägga till en insats till i det här området?", "press", "Nej"),
        ("Lägga till ett utvecklingsområde till?", "press", "Nej"),
        ("Plan för insatser inom ramen för utvecklingsområdet", "press", "Hoppa över"),
        ("Deltagare i insatsen", "say", DELTAGARE),
        (f"Tidplan: {per.format(n=1)} › Period", "say", "ht-20-vt -22"),
        (f"Tidplan: {per.format(n=1)} › Tidsplan", "say", TIDPLAN_1),
        (f"Tidplan: {per.format(n=2)} › Period", "say", "ht-20 – vt-22"),
        (f"Tidplan: {per.format(n=2)} › Tidsplan", "say", TIDPLAN_2),
        ("Ansvar för insatsen", "say", ANSVAR),
        ("Delaktighet", "say", DELAKTIGHET),
        *[
            step
            for n in (1, 2)
            for step in [
                (f"Uppföljning: {per.format(n=n)} › När", "say", NAR),
                (f"Uppföljning: {per.format(n=n)} › Hur", "say", HUR),
                (f"Uppföljning: {per.format(n=n)} › Vem", "say", VEM),
            ]
        ],
        ("Styrkor att använda i kommande insatser", "say", STYRKOR),
        ("Risker", "say", RISKER),
        ("Förebyggande åtgärder", "say", FOREBYGGANDE),
        ("Erfarenhetsspridning", "say", ERFARENHETSSPRIDNING),
        ("Kostnadsberäkning", "say", "\n\n".join(KOSTNADER))
        if costs
        else ("Kostnadsberäkning", "press", "Hoppa över"),
        REVIEW,
    ]


async def play(teacher: Teacher, steps: list[Step]) -> None:
    """Answer each question, checking first that the bot asks the one the script expects."""
    for heading, action, value in steps:
        if any(o.is_question for o in teacher.last):  # "Annat" only says: write it yourself
            assert teacher.question.heading == heading, (heading, teacher.text())
        if action == "press":
            await teacher.press(value, [teacher.question])
        else:
            await teacher.say(value)


async def start(teacher: Teacher, template_name: str) -> None:
    await teacher.start()
    await teacher.press(template_name)


@pytest.fixture
def teacher(store: MemoryStore) -> Teacher:
    return Teacher(Conversation(store, TEMPLATES, render_document, clock=Clock()))


def only_plan(store: MemoryStore) -> PlanRecord:
    [(_, plan)] = list(store.plans.values())
    return plan


def last_document(teacher: Teacher) -> bytes:
    docs: list[Outbound] = teacher.documents()
    assert docs, "no document was sent"
    document = docs[-1].document
    assert document is not None
    return document.data


# ---------------------------------------------------------------- the Höör plan


async def test_hoor_plan_replayed_puts_every_answer_in_its_section_and_cell(
    teacher: Teacher, store: MemoryStore
) -> None:
    await start(teacher, "Åtgärdsplan")
    await play(teacher, hoor_conversation())
    plan = only_plan(store)
    assert plan.status.value == "klar"
    [finished] = teacher.documents()
    assert finished.document is not None and not finished.document.draft
    assert finished.document.filename.startswith("Åtgärdsplan – Huvudman Höör – ")
    doc = open_docx(finished.document.data)

    assert doc.paragraphs[0].text == "Åtgärdsplan – Huvudman Höör"
    assert headings(doc)[:4] == [
        "Inledning",
        AP.question("bakgrund").label,
        "Utvecklingsområde",
        f"Område 1: {AREA}",
    ]
    assert text_under(doc, AP.question("bakgrund").label) == BAKGRUND.split("\n\n")

    for number, name, orsaker, mal, forbattringar in (
        (1, INSATS_1, ORSAKER_1, MAL_1, FORBATTRINGAR_1),
        (2, INSATS_2, ORSAKER_2, MAL_2, FORBATTRINGAR_2),
    ):
        insats = f"Insats {number}: {name}"
        [matrix] = tables_under(doc, f"Område 1: {AREA}", insats)
        heads, guidance, answers = matrix.rows
        assert [c.text for c in heads.cells] == [
            "Problem kopplade till förskolans/elevernas/enheternas resultat och måluppfyllelse",
            "Orsaker till identifierade problem",
            "Mål med insatsen",
            "Synliga förbättringar",
        ]
        assert guidance.cells[2].text.startswith("Vad insatsen konkret ska leda till")
        assert guidance.cells[3].text.startswith("Konkreta tecken på att målet är uppnått")
        assert [cell_bullets(c) for c in answers.cells] == [PROBLEM, orsaker, mal, forbattringar]
        effekt = text_under(doc, insats, "Förväntad effekt kopplat till problem")
        assert effekt[-2:] == EFFEKT

    assert text_under(doc, "Plan för insatser", "Deltagare i insatsen") == [
        "Ange målgrupp, funktion och antal.",
        DELTAGARE,
    ]
    tidplan_1 = text_under(doc, "Tidplan", f"Område 1 › Insats 1: {INSATS_1}")
    assert "ht-20-vt -22 (1 augusti 2020 – 30 juni 2022)" in tidplan_1
    assert TIDPLAN_1 in tidplan_1
    tidplan_2 = text_under(doc, "Tidplan", f"Område 1 › Insats 2: {INSATS_2}")
    assert "ht-20 – vt-22 (1 augusti 2020 – 30 juni 2022)" in tidplan_2
    assert TIDPLAN_2 in tidplan_2
    assert text_under(doc, "Ansvar för insatsen")[-1] == ANSVAR
    assert text_under(doc, "Delaktighet")[-1] == DELAKTIGHET
    for number, name in ((1, INSATS_1), (2, INSATS_2)):
        where = ("Uppföljning och utvärdering", f"Område 1 › Insats {number}: {name}")
        assert text_under(doc, *where, "Beskriv när insatsen") == [NAR]
        assert text_under(doc, *where, "Beskriv hur insatsen") == HUR.split("\n\n")
        assert text_under(doc, *where, "Beskriv vem som ansvarar") == [VEM]
    assert text_under(doc, "Styrkor och risker", "Styrkor att använda")[-1] == STYRKOR
    assert text_under(doc, "Styrkor och risker", "Risker")[-1] == RISKER
    assert text_under(doc, "Styrkor och risker", "Förebyggande åtgärder")[-1] == FOREBYGGANDE
    assert text_under(doc, "Erfarenhetsspridning", "Erfarenhetsspridning")[-1] == (
        ERFARENHETSSPRIDNING
    )
    assert text_under(doc, "Uppskattade kostnader", "Kostnadsberäkning")[-5:] == KOSTNADER
    # The skipped "Plan för insatser" text is optional: no "Ej besvarad" for it.
    assert "Plan för insatser inom ramen för utvecklingsområdet" not in headings(doc)


async def test_cost_section_is_left_out_when_skipped(teacher: Teacher) -> None:
    await start(teacher, "Åtgärdsplan")
    await play(teacher, hoor_conversation(costs=False))
    doc = open_docx(last_document(teacher))
    assert "Uppskattade kostnader" not in headings(doc)
    assert "Kostnadsberäkning" not in headings(doc)
    assert "Erfarenhetsspridning" in headings(doc)


async def test_area_is_chosen_with_buttons_listed_in_the_template(teacher: Teacher) -> None:
    await start(teacher, "Åtgärdsplan")
    await play(teacher, hoor_conversation()[:3])
    labels = [c.label for c in teacher.question.choices]
    assert labels[:5] == [
        "Styrning och utveckling av verksamheten",
        "Undervisning och lärande",
        "Trygghet och studiero",
        "Extra anpassningar och särskilt stöd",
        "Bedömning och betygssättning",
    ]
    assert "Annat" in labels
    await teacher.press("Styrning och utveckling av verksamheten", [teacher.question])
    assert teacher.question.heading == "Område 1 › Insats 1 › Namn"


# ---------------------------------------------------------------- nested repeats


async def quick_insats(teacher: Teacher, name: str) -> None:
    await teacher.say(name)
    for text in ("- Ett problem", "- En orsak", "- Ett mål", "- Ett tecken", "- En effekt"):
        await teacher.say(text)


async def two_areas(teacher: Teacher) -> None:
    """Område 1 with one insats; Område 2 (Trygghet och studiero) with insatser A, B and C."""
    await start(teacher, "Åtgärdsplan")
    await play(teacher, hoor_conversation()[:3])
    await teacher.press("Styrning och utveckling av verksamheten", [teacher.question])
    await quick_insats(teacher, "Ledningsteam")
    await teacher.press("Nej", [teacher.question])
    assert teacher.question.heading == "Lägga till ett utvecklingsområde till?"
    await teacher.press("Ja", [teacher.question])
    assert teacher.question.heading == "Område 2 › Utvecklingsområde"
    await teacher.press("Trygghet och studiero", [teacher.question])
    for name in ("Insats A", "Insats B", "Insats C"):
        assert teacher.question.heading.startswith("Område 2 › Insats ")
        await quick_insats(teacher, name)
        await teacher.press("Ja" if name != "Insats C" else "Nej", [teacher.question])
    await teacher.press("Nej", [teacher.question])
    assert teacher.question.heading == "Plan för insatser inom ramen för utvecklingsområdet"


async def test_insatser_are_added_edited_and_removed_inside_the_second_area(
    teacher: Teacher, store: MemoryStore
) -> None:
    await two_areas(teacher)
    plan = only_plan(store)
    ids = plan.state["instances"]["omrade[2].insats"]
    assert len(ids) == 3

    # /andra reaches an insats in another område by its path, then returns.
    await teacher.say("/andra Område 2 › Insats 2")
    assert "Område 2 › Insats 2 › Namn" in teacher.text()
    assert "Område 2 › Insats 1" not in teacher.text()
    await teacher.press("1. Område 2 › Insats 2 › Namn")
    assert teacher.question.heading == "Område 2 › Insats 2 › Namn"
    await teacher.say("Insats B, omdöpt")
    assert teacher.question.heading == "Plan för insatser inom ramen för utvecklingsområdet"
    assert only_plan(store).answers[f"omrade[2].insats[{ids[1]}].namn"].text == ("Insats B, omdöpt")

    # /tabort names the insats, asks first, and "Nej" keeps it.
    await teacher.say("/tabort Område 2 › Insats 1")
    assert "Insats A" in teacher.question.text
    await teacher.press("Nej", [teacher.question])
    assert len(only_plan(store).state["instances"]["omrade[2].insats"]) == 3
    await teacher.say("/tabort Område 2 › Insats 1")
    await teacher.press("Ja, ta bort", [teacher.question])
    assert "borttagen" in teacher.text()
    plan = only_plan(store)
    assert plan.state["instances"]["omrade[2].insats"] == ids[1:]
    # The answers stay in the history, but leave the plan.
    history = await store.history(plan.id)
    assert any(a.path == f"omrade[2].insats[{ids[0]}].namn" for a in history)
    assert teacher.question.heading == "Plan för insatser inom ramen för utvecklingsområdet"

    await teacher.say("/oversikt")
    overview = teacher.last[0].text
    tree = [line for line in overview.split("\n") if line.startswith("▸")]
    assert tree[:5] == [
        "▸ Område 1 – Styrning och utveckling av verksamheten",
        "▸ Område 1 › Insats 1 – Ledningsteam",
        "▸ Område 2 – Trygghet och studiero",
        "▸ Område 2 › Insats 1 – Insats B, omdöpt",
        "▸ Område 2 › Insats 2 – Insats C",
    ]
    assert "Insats A" not in overview
    assert "▸ Tidplan: Område 2 › Insats 2 – Insats C" in tree  # asked per insats later

    await teacher.say("/exportera")
    doc = open_docx(last_document(teacher))
    found = headings(doc)
    assert "Insats 1: Insats B, omdöpt" in found
    assert "Insats 2: Insats C" in found
    assert not any("Insats A" in h for h in found)
    assert "Område 2 › Insats 1: Insats B, omdöpt" in found  # its Tidplan and Uppföljning
    assert len(tables_under(doc, "Område 2: Trygghet och studiero")) == 2


async def test_remove_without_argument_offers_the_insats_being_answered(
    teacher: Teacher, store: MemoryStore
) -> None:
    await two_areas(teacher)
    await teacher.say("/andra Område 2 › Insats 3 › Orsaker")
    assert teacher.question.heading == "Område 2 › Insats 3 › Orsaker"
    await teacher.say("/tabort")
    assert "Område 2 › Insats 3 (Insats C)" in teacher.question.text
    await teacher.say("ja")
    assert len(only_plan(store).state["instances"]["omrade[2].insats"]) == 2
    # the cursor was inside the removed insats: the dialog goes on where something is missing
    assert teacher.question.heading == "Plan för insatser inom ramen för utvecklingsområdet"


async def test_remove_lists_what_can_go_and_the_last_insats_of_an_area_stays(
    teacher: Teacher, store: MemoryStore
) -> None:
    await two_areas(teacher)
    await teacher.say("/tabort")
    listed = teacher.question.text.split("\n")
    assert listed[0] == "1. Område 1 (Styrning och utveckling av verksamheten)"
    assert not any("Område 1 › Insats 1" in line for line in listed)  # its area's only one
    await teacher.say("1")
    await teacher.press("Ja, ta bort", [teacher.question])
    plan = only_plan(store)
    assert len(plan.state["instances"]["omrade"]) == 1
    await teacher.say("/oversikt")
    assert "Ledningsteam" not in teacher.last[0].text
