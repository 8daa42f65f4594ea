"""Writes docs/layout-example.docx, the example of an organisation's own Word layout
(docs/layout.md). Run `python docs/layout_example.py`; then open the file in Word and make it
yours – the Jinja tags ({{ … }}, {%p … %}) are what planbot fills in."""

from pathlib import Path

import docx
from docx.shared import Pt, RGBColor

OUT = Path(__file__).resolve().parent / "layout-example.docx"


def main() -> None:
    layout = docx.Document()
    core = layout.core_properties
    core.author = core.last_modified_by = core.comments = ""
    header = layout.sections[0].header.paragraphs[0]
    header.text = "Exempelkommunen · Barn- och utbildningsförvaltningen"
    header.add_run("{% if draft %} · {{ labels.draft }}{% endif %}").bold = True
    layout.add_paragraph("{{ title }}", style="Title")
    layout.add_paragraph("Enhet: {{ unit }} · Upprättad av: {{ author }} · {{ date }}")
    add = layout.add_paragraph
    add("{%p for step in steps %}")
    add("{{ step.title }}", style="Heading 1")
    add("{%p if step.intro %}")
    add("{{ step.intro }}")
    add("{%p endif %}")
    add("{%p for field in step.fields %}")
    add("{{ field.label }}", style="Heading 2")
    add("{%p if field.guidance %}")
    guidance = add("{{ field.guidance }}").runs[0]
    guidance.italic = True
    guidance.font.size = Pt(9)
    guidance.font.color.rgb = RGBColor(0x6E, 0x6E, 0x6E)
    add("{%p endif %}")
    add("{%p if field.items %}")
    add("{%p for item in field.items %}")
    add("{{ item }}", style="List Bullet")
    add("{%p endfor %}")
    add("{%p else %}")
    add("{{ field.text }}")
    add("{%p endif %}")
    add("{%p endfor %}")
    add("{%p endfor %}")
    layout.save(str(OUT))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
