"""The project's own Word base document, `exports/base.docx`, and how it is made.

Every exported plan starts from this file rather than python-docx's built-in template, which
carries another program's fingerprints: "Microsoft Macintosh Word" as the application, a
preview thumbnail of an empty page, Word 2010 compatibility mode (Word then opens the plan
"[Kompatibilitetsläge]" and draws tables the old way) and a proofing state saying spelling is
already checked (so a teacher's typos are never underlined). Here the base gets:

- A4 with 2.5 cm margins, Calibri 11 pt, Swedish as the proofing language everywhere;
- headings that keep with the next paragraph, and a paragraph style for the seed's guiding
  text (`GUIDANCE_STYLE`, small grey italics) that also keeps with what follows, so a question
  never ends a page without its answer;
- body paragraphs with widow and orphan control: the first two lines of an answer follow
  their question to the next page;
- table cell text a little tighter than body text (`TABLE_STYLE`).

The file is generated, not hand-edited: `python -m exports.base_document` writes it again;
a test checks the committed file has what is listed above.
"""

from __future__ import annotations

import io
from pathlib import Path

import docx
from docx.document import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

BASE_DOCX = Path(__file__).resolve().parent / "base.docx"
GUIDANCE_STYLE = "Vägledning"
TABLE_STYLE = "Tabelltext"
GUIDANCE_SIZE = Pt(9)
FONT = "Calibri"
LANGUAGE = "sv-SE"
GREY = RGBColor(0x6E, 0x6E, 0x6E)
HEADING_BLUE = RGBColor(0x1F, 0x3A, 0x5F)
APPLICATION = "planbot"
# Word 2013 and later: no compatibility mode.
COMPATIBILITY_MODE = "15"
TABLE_STYLE_SIZE = Pt(10)
_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"

_APP_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" \
xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">
<Application>{APPLICATION}</Application><DocSecurity>0</DocSecurity>\
<ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>\
<HyperlinksChanged>false</HyperlinksChanged></Properties>
""".encode()


def build() -> bytes:
    """The base document's bytes, from python-docx's template with its fingerprints removed."""
    document = docx.Document()
    _drop_parts(document)
    _settings(document)
    _page(document)
    _styles(document)
    core = document.core_properties  # filled in per plan; nothing of python-docx's own
    core.author = core.last_modified_by = core.title = core.subject = ""
    core.keywords = core.comments = core.category = ""
    core.language = LANGUAGE
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _drop_parts(document: WordDocument) -> None:
    """The thumbnail, Word 2010's stylesWithEffects and the bibliography customXml: a part
    no relationship points to is not written."""
    package = document.part.package
    for rels, types in (
        (package.rels, {RT.THUMBNAIL}),
        (document.part.rels, {_STYLES_WITH_EFFECTS, RT.CUSTOM_XML}),
    ):
        for r_id in [r_id for r_id, rel in rels.items() if rel.reltype in types]:
            rels.pop(r_id)
            rels._target_parts_by_rId.pop(r_id, None)  # python-docx's own cache of the same
    for rel in package.rels.values():
        if rel.reltype == RT.EXTENDED_PROPERTIES:
            rel.target_part._blob = _APP_XML


def _settings(document: WordDocument) -> None:
    settings = document.settings.element
    for tag in ("w:proofState", "w:savePreviewPicture", "w:rsids"):
        for element in settings.findall(qn(tag)):
            settings.remove(element)
    for setting in settings.iter(qn("w:compatSetting")):
        if setting.get(qn("w:name")) == "compatibilityMode":
            setting.set(qn("w:val"), COMPATIBILITY_MODE)
    for lang in settings.iter(qn("w:themeFontLang")):
        lang.set(qn("w:val"), LANGUAGE)
        lang.attrib.pop(qn("w:eastAsia"), None)


def _page(document: WordDocument) -> None:
    for section in document.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Cm(2.5)
        section.top_margin, section.bottom_margin = Cm(2.2), Cm(2.2)
        section.header_distance = section.footer_distance = Cm(1.1)


def _styles(document: WordDocument) -> None:
    styles = document.styles
    # The proofing language and font live in the document defaults every style inherits.
    defaults = styles.element.find(qn("w:docDefaults"))
    assert defaults is not None
    r_pr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
    assert r_pr is not None
    for lang in r_pr.findall(qn("w:lang")):
        r_pr.remove(lang)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), LANGUAGE)
    lang.set(qn("w:eastAsia"), LANGUAGE)
    lang.set(qn("w:bidi"), "ar-SA")
    r_pr.append(lang)
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attribute in list(fonts.attrib):
        del fonts.attrib[attribute]
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(key), FONT)

    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.1
    normal.paragraph_format.widow_control = True

    title = styles["Title"]
    title.font.name = FONT
    title.font.size = Pt(22)
    title.font.color.rgb = HEADING_BLUE
    title.paragraph_format.space_after = Pt(12)
    title.paragraph_format.keep_with_next = True
    for level, size, before in ((1, 16, 18), (2, 13, 12), (3, 12, 10), (4, 11, 8), (5, 11, 6)):
        heading = styles[f"Heading {level}"]
        heading.font.name = FONT
        heading.font.size = Pt(size)
        heading.font.bold = True
        heading.font.italic = False
        heading.font.color.rgb = HEADING_BLUE
        heading.paragraph_format.space_before = Pt(before)
        heading.paragraph_format.space_after = Pt(4)
        heading.paragraph_format.keep_with_next = True
        heading.paragraph_format.keep_together = True

    guidance = styles.add_style(GUIDANCE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    guidance.base_style = normal
    guidance.next_paragraph_style = normal
    guidance.quick_style = True
    guidance.font.italic = True
    guidance.font.size = GUIDANCE_SIZE
    guidance.font.color.rgb = GREY
    guidance.paragraph_format.space_after = Pt(4)
    guidance.paragraph_format.keep_with_next = True
    guidance.paragraph_format.keep_together = True

    cell = styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    cell.quick_style = True
    cell.font.size = TABLE_STYLE_SIZE
    cell.paragraph_format.space_before = Pt(1)
    cell.paragraph_format.space_after = Pt(2)
    cell.paragraph_format.line_spacing = 1.0

    bullet = styles["List Bullet"]
    bullet.paragraph_format.space_after = Pt(2)
    # Word's "contextual spacing" on lists makes LibreOffice misjudge a question that follows
    # a list: its heading and guidance stayed at the foot of the page (seen in the PDFs).
    for contextual in bullet.element.pPr.findall(qn("w:contextualSpacing")):
        bullet.element.pPr.remove(contextual)

    footer = styles["Footer"]
    footer.font.size = Pt(9)
    footer.font.color.rgb = GREY


if __name__ == "__main__":
    BASE_DOCX.write_bytes(build())
    print(f"wrote {BASE_DOCX}")
