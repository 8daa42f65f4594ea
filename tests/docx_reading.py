"""Reading an exported .docx the way a teacher scans it: which heading a paragraph or table
stands under, what a table cell says, and which colour a cell is shaded in."""

from __future__ import annotations

import io
from dataclasses import dataclass

import docx
from docx.document import Document as WordDocument
from docx.oxml.ns import qn
from docx.shared import Twips
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph


@dataclass(frozen=True)
class Block:
    headings: tuple[str, ...]  # the headings above it, outermost first (Title excluded)
    paragraph: Paragraph | None = None
    table: Table | None = None

    def under(self, *titles: str) -> bool:
        """Every title stands among the headings above this block (each a prefix match)."""
        return all(any(h.startswith(t) for h in self.headings) for t in titles)


def open_docx(data: bytes) -> WordDocument:
    return docx.Document(io.BytesIO(data))


def blocks(document: WordDocument) -> list[Block]:
    """The body in reading order, each paragraph and table with the headings above it."""
    stack: list[tuple[int, str]] = []
    out: list[Block] = []
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            paragraph = Paragraph(child, document)
            style = paragraph.style.name if paragraph.style is not None else ""
            if style.startswith("Heading "):
                level = int(style.split()[1])
                stack = [(lv, t) for lv, t in stack if lv < level]
                stack.append((level, paragraph.text))
                out.append(Block(tuple(t for _, t in stack[:-1]), paragraph=paragraph))
                continue
            out.append(Block(tuple(t for _, t in stack), paragraph=paragraph))
        elif child.tag == qn("w:tbl"):
            out.append(Block(tuple(t for _, t in stack), table=Table(child, document)))
    return out


def headings(document: WordDocument) -> list[str]:
    return [
        p.text
        for p in document.paragraphs
        if p.style is not None and p.style.name.startswith("Heading")
    ]


def tables_under(document: WordDocument, *titles: str) -> list[Table]:
    return [b.table for b in blocks(document) if b.table is not None and b.under(*titles)]


def text_under(document: WordDocument, *titles: str) -> list[str]:
    return [
        b.paragraph.text
        for b in blocks(document)
        if b.paragraph is not None and b.paragraph.text and b.under(*titles)
    ]


def cell_lines(cell: _Cell) -> list[str]:
    return [p.text for p in cell.paragraphs if p.text]


def cell_bullets(cell: _Cell) -> list[str]:
    return [
        p.text
        for p in cell.paragraphs
        if p.text and p.style is not None and p.style.name == "List Bullet"
    ]


def cell_fill(cell: _Cell) -> str | None:
    """The cell's shading colour (w:shd/@w:fill), upper case, or None."""
    properties = cell._tc.tcPr
    if properties is None:
        return None
    shading = properties.find(qn("w:shd"))
    if shading is None:
        return None
    fill = shading.get(qn("w:fill"))
    return fill.upper() if fill else None


# ----------------------------------------------------------------- page flow and table shape


def keeps_with_next(paragraph: Paragraph) -> bool:
    """Keep-with-next as Word resolves it: set on the paragraph, else on its style chain."""
    if paragraph.paragraph_format.keep_with_next is not None:
        return bool(paragraph.paragraph_format.keep_with_next)
    style = paragraph.style
    while style is not None:
        if style.paragraph_format.keep_with_next is not None:
            return bool(style.paragraph_format.keep_with_next)
        style = style.base_style
    return False


def is_header_row(row: _Row) -> bool:
    """The row repeats at the top of every page the table runs over (w:tblHeader)."""
    properties = row._tr.trPr
    return properties is not None and properties.find(qn("w:tblHeader")) is not None


def cannot_split(row: _Row) -> bool:
    """The row is kept on one page (w:cantSplit)."""
    properties = row._tr.trPr
    return properties is not None and properties.find(qn("w:cantSplit")) is not None


def grid_widths_cm(table: Table) -> list[float]:
    """The column widths in the table grid (w:tblGrid/w:gridCol), in cm, one decimal."""
    return [round(Twips(int(col.get(qn("w:w")))).cm, 1) for col in table._tbl.tblGrid.gridCol_lst]


def fixed_layout(table: Table) -> bool:
    layout = table._tbl.tblPr.find(qn("w:tblLayout"))
    return layout is not None and layout.get(qn("w:type")) == "fixed"


def style_name(paragraph: Paragraph) -> str:
    return paragraph.style.name if paragraph.style is not None else ""
