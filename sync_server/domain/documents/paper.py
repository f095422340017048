"""A4 pages of the office's printed documents (fpdf2), in the township's house style:
a centred title, a line of reference facts, tables of labelled values, photo
thumbnails and signature lines. The CJK font is embedded (subset) in every PDF.
"""

from __future__ import annotations

import io
from typing import Iterable, Sequence

from fpdf import FPDF, FontFace

from sync_server.domain.documents.fonts import FAMILY, otf_path

#: Margins (mm) of every document; the body is 180 mm wide on A4 portrait.
MARGIN = 15
LINE = 7
_HEAD = FontFace(fill_color=(230, 236, 245))


class Paper:
    """One document being written: title, sections, tables, thumbnails, signatures."""

    def __init__(self, title: str, *, subject: str = "", author: str = "") -> None:
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(True, margin=MARGIN + 5)
        # One weight is bundled (one subset embedded per PDF): headings are drawn larger or filled.
        pdf.add_font(FAMILY, "", otf_path())
        pdf.set_title(title)
        pdf.set_subject(subject or title)
        pdf.set_author(author)
        pdf.set_creator("治欠巡查 Wage Patrol")
        pdf.set_lang("zh-CN")
        pdf.alias_nb_pages()
        self.pdf = pdf
        self._footer_text = title
        pdf.footer = self._footer  # type: ignore[method-assign]
        pdf.add_page()
        pdf.set_font(FAMILY, size=18)
        pdf.cell(0, 12, title, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, size=10.5)

    @property
    def width(self) -> float:
        return self.pdf.epw

    def _footer(self) -> None:
        self.pdf.set_y(-MARGIN)
        self.pdf.set_font(FAMILY, size=8)
        self.pdf.cell(0, 5, f"{self._footer_text}　第 {self.pdf.page_no()} 页 共 {{nb}} 页",
                      align="C")

    def line(self, text: str, *, size: float = 10.5, align: str = "L") -> None:
        self.pdf.set_font(FAMILY, size=size)
        self.pdf.multi_cell(0, LINE, text, align=align, new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.pdf.ln(2)
        self.pdf.set_font(FAMILY, size=13)
        self.pdf.cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font(FAMILY, size=10.5)

    def facts(self, pairs: Sequence[tuple[str, str]], columns: int = 2) -> None:
        """Label/value pairs in a ruled grid, ``columns`` pairs a row."""
        label_w = 28.0
        value_w = self.width / columns - label_w
        widths = [label_w, value_w] * columns
        self.pdf.set_font(FAMILY, size=10)
        with self.pdf.table(col_widths=widths, first_row_as_headings=False, line_height=LINE,
                            text_align="LEFT", width=self.width) as table:
            for i in range(0, len(pairs), columns):
                row = table.row()
                chunk = list(pairs[i:i + columns])
                chunk += [("", "")] * (columns - len(chunk))
                for label, value in chunk:
                    row.cell(label, style=_HEAD)
                    row.cell(value or "—" if label else "")

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[str]],
              widths: Sequence[float]) -> None:
        """A ruled table with a heading row repeated on every page."""
        self.pdf.set_font(FAMILY, size=9.5)
        with self.pdf.table(col_widths=list(widths), headings_style=_HEAD, line_height=6,
                            text_align="LEFT", width=self.width, repeat_headings=1) as table:
            head = table.row()
            for h in headers:
                head.cell(h)
            for values in rows:
                row = table.row()
                for v in values:
                    row.cell(v if v else "—")
        self.pdf.set_font(FAMILY, size=10.5)

    def thumbnails(self, images: Sequence[tuple[bytes, str]], size: float = 40) -> None:
        """JPEG thumbnails (bytes, caption) four to a row, each captioned below."""
        gap = (self.width - 4 * size) / 3
        x0 = self.pdf.l_margin
        for start in range(0, len(images), 4):
            if self.pdf.will_page_break(size + 10):
                self.pdf.add_page()
            y = self.pdf.get_y()
            for k, (data, caption) in enumerate(images[start:start + 4]):
                x = x0 + k * (size + gap)
                self.pdf.image(io.BytesIO(data), x=x, y=y, w=size, h=size, keep_aspect_ratio=True)
                self.pdf.set_xy(x, y + size + 1)
                self.pdf.set_font(FAMILY, size=8)
                self.pdf.cell(size, 4, caption, align="C")
            self.pdf.set_xy(x0, y + size + 7)
        self.pdf.set_font(FAMILY, size=10.5)

    def signatures(self, roles: Sequence[str]) -> None:
        """A signature line and a date line for each role, two to a row."""
        if self.pdf.will_page_break(14 * ((len(roles) + 1) // 2) + 6):
            self.pdf.add_page()
        self.pdf.ln(6)
        half = self.width / 2
        for i in range(0, len(roles), 2):
            y = self.pdf.get_y()
            for k, role in enumerate(roles[i:i + 2]):
                self.pdf.set_xy(self.pdf.l_margin + k * half, y)
                self.pdf.cell(half, LINE, f"{role}（签字）：____________________")
            self.pdf.set_xy(self.pdf.l_margin, y + LINE)
            for k, _ in enumerate(roles[i:i + 2]):
                self.pdf.set_xy(self.pdf.l_margin + k * half, y + LINE)
                self.pdf.cell(half, LINE, "日期：________年____月____日")
            self.pdf.set_xy(self.pdf.l_margin, y + 2 * LINE + 4)

    def seal(self, issuer: str, date_text: str) -> None:
        """The issuing office and date at the right, where its seal goes."""
        self.pdf.ln(8)
        self.line(f"{issuer}（盖章）", align="R")
        self.line(date_text, align="R")

    def output(self) -> bytes:
        return bytes(self.pdf.output())
