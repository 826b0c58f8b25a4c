"""The TrueType fonts every PDF embeds (DejaVu Sans), registered once per process."""

from __future__ import annotations

import os

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

FONT_FILES = {
    "normal": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "italic": "DejaVuSans-Oblique.ttf",
    "boldItalic": "DejaVuSans-BoldOblique.ttf",
}


class FontError(RuntimeError):
    """The TrueType fonts the PDFs embed (DejaVu Sans) are missing or unreadable."""


# reportlab's font registry is process-wide: register each directory once per process
_families: dict[str, str] = {}


def register_fonts(font_dir: str) -> str:
    """Register the DejaVu Sans family found in font_dir and return its family name."""
    key = os.path.realpath(font_dir or ".")
    if key in _families:
        return _families[key]
    family = "CounselorSans" if not _families else f"CounselorSans{len(_families) + 1}"
    paths = {style: os.path.join(key, name) for style, name in FONT_FILES.items()}
    if not all(os.path.isfile(p) for p in paths.values()):
        raise FontError(_font_sentence(font_dir))
    names = {
        "normal": family,
        "bold": f"{family}-Bold",
        "italic": f"{family}-Oblique",
        "boldItalic": f"{family}-BoldOblique",
    }
    try:
        for style, path in paths.items():
            pdfmetrics.registerFont(TTFont(names[style], path))
    except (TTFError, OSError) as exc:
        raise FontError(_font_sentence(font_dir)) from exc
    pdfmetrics.registerFontFamily(family, **names)
    _families[key] = family
    return family


def _font_sentence(font_dir: str) -> str:
    return (
        f"No usable DejaVu Sans fonts in {font_dir!r}: install the Debian package "
        "fonts-dejavu-core or set COUNSELOR_PDF_FONT_DIR to a directory holding "
        + ", ".join(FONT_FILES.values())
        + "."
    )
