"""Reading Minga's PDFs back as a person would: their text (pypdf), their pages as images
(poppler's ``pdftoppm``) and the QR codes on them (``zbarimg``)."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def text(pdf: bytes) -> str:
    """All the text, with runs of whitespace made one space (lines wrap where spaces were)."""
    return " ".join(" ".join(pages_text(pdf)).split())


@dataclass(frozen=True)
class Run:
    text: str
    x: float
    y: float
    size: float


def runs(pdf: bytes, page: int = 0) -> list[Run]:
    """Each piece of text a page draws, with where it starts and its font size."""
    found: list[Run] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            # the text matrix places the run; the current matrix moves it (reportlab uses
            # both), and scales the font size
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append(Run(text.strip(), x, y, size * (tm[0] or 1)))

    PdfReader(io.BytesIO(pdf)).pages[page].extract_text(visitor_text=visit)
    return found


def page_size(pdf: bytes, page: int = 0) -> tuple[float, float]:
    box = PdfReader(io.BytesIO(pdf)).pages[page].mediabox
    return float(box.width), float(box.height)


def render(pdf: bytes, out: Path, dpi: int = 150) -> list[Path]:
    """The pages as PNG images (``out``-1.png, ``out``-2.png, …)."""
    tool = shutil.which("pdftoppm")
    assert tool, "pdftoppm (poppler-utils) is needed to render documents"
    source = out.with_suffix(".pdf")
    source.write_bytes(pdf)
    subprocess.run([tool, "-png", "-r", str(dpi), str(source), str(out)], check=True)  # noqa: S603
    return sorted(out.parent.glob(f"{out.name}-*.png"))


def qr_codes(image: Path) -> list[str]:
    """The QR codes zbar reads in an image."""
    tool = shutil.which("zbarimg")
    assert tool, "zbarimg (zbar-tools) is needed to read QR codes"
    done = subprocess.run(  # noqa: S603
        [tool, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in done.stdout.splitlines() if line]
