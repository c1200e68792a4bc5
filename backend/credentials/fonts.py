"""The CJK font of credential cards: Noto Sans CJK SC from Debian's fonts-noto-cjk, else any CJK
face found under the system font directories that really draws Chinese (not "tofu"), with a
synthetic bold when no bold weight is installed."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import ImageFont

# Debian's fonts-noto-cjk first; then a search of these roots for any file whose name says CJK.
_FONT_FILES: dict[bool, tuple[str, ...]] = {
    False: (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc",
    ),
    True: (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Black.ttc",
    ),
}
_FONT_SEARCH_ROOTS: tuple[str, ...] = ("/usr/share/fonts", "/usr/local/share/fonts")
_FONT_NAME_HINTS = (
    "notosanscjk",
    "notoserifcjk",
    "notosanssc",
    "notoserifsc",
    "sourcehansans",
    "sourcehanserif",
    "wqy-zenhei",
    "wqy-microhei",
    "droidsansfallback",
)
_FONT_SUFFIXES = (".ttc", ".otf", ".ttf")
_MISSING_FONT_MESSAGE = (
    "No CJK font found to draw Chinese text on credential cards (looked for Noto Sans CJK in "
    "/usr/share/fonts/opentype/noto/ and for CJK fonts under {roots}). Install the Debian package "
    "fonts-noto-cjk: apt-get install -y fonts-noto-cjk"
)


@dataclass(frozen=True)
class CJKFont:
    path: str
    index: int  # face index inside a .ttc collection
    family: str
    synthetic_bold: bool = False  # no bold face found: embolden the regular face with a stroke


def _renders_cjk(font: ImageFont.FreeTypeFont) -> bool:
    """True when the face has real glyphs for Chinese text, not the .notdef box ("tofu")."""
    tofu = font.getmask("\U0010fffd")
    for char in "辽检证":
        mask = font.getmask(char)
        if mask.getbbox() is None:
            return False
        if mask.size == tofu.size and bytes(mask) == bytes(tofu):
            return False
    return True


def _best_face(path: str) -> tuple[int, str, str] | None:
    """(index, family, style) of the face to use in a font file: a Simplified Chinese, proportional
    face if there is one."""
    candidates: list[tuple[int, int, str, str]] = []
    for index in range(32):
        try:
            font = ImageFont.truetype(path, 24, index=index)
        except OSError:
            break
        family, style = (name or "" for name in font.getname())
        if not _renders_cjk(font):
            continue
        score = 0
        if re.search(r"\bSC\b", family) or family.endswith(("SC", "CN")):
            score += 2
        if "mono" not in family.lower():
            score += 1
        candidates.append((score, index, family, style))
        if not path.lower().endswith(".ttc"):
            break
    if not candidates:
        return None
    _, index, family, style = max(candidates, key=lambda c: (c[0], -c[1]))
    return index, family, style


def _search_font_files(roots: tuple[str, ...], bold: bool) -> Iterator[str]:
    found: list[str] = []
    for root in roots:
        if not os.path.isdir(root):
            continue
        for dirpath, _dirnames, filenames in os.walk(root):
            for name in filenames:
                lower = name.lower()
                if lower.endswith(_FONT_SUFFIXES) and any(hint in lower for hint in _FONT_NAME_HINTS):
                    found.append(os.path.join(dirpath, name))

    def rank(path: str) -> tuple[int, int, int, str]:
        name = os.path.basename(path).lower()
        is_bold = "bold" in name or "black" in name or "heavy" in name
        plain_weight = bold or "regular" in name  # Regular before Light, DemiLight, Thin, Medium
        return (0 if is_bold == bold else 1, 0 if plain_weight else 1, 0 if "sans" in name else 1, path)

    yield from sorted(found, key=rank)


@functools.lru_cache(maxsize=4)
def find_cjk_font(bold: bool = False) -> CJKFont:
    """Locate a CJK font (Noto Sans CJK SC preferred). RuntimeError naming fonts-noto-cjk if none."""
    seen: set[str] = set()
    paths = [*_FONT_FILES[bold], *_search_font_files(_FONT_SEARCH_ROOTS, bold)]
    for path in paths:
        if path in seen or not os.path.isfile(path):
            continue
        seen.add(path)
        face = _best_face(path)
        if face is not None:
            index, family, style = face
            # Asked for bold but only a regular weight is installed: embolden it with a stroke.
            synthetic = bold and not any(w in style.lower() for w in ("bold", "black", "heavy"))
            return CJKFont(path=path, index=index, family=family, synthetic_bold=synthetic)
    raise RuntimeError(_MISSING_FONT_MESSAGE.format(roots=", ".join(_FONT_SEARCH_ROOTS)))


@functools.lru_cache(maxsize=128)
def _load_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


@dataclass(frozen=True)
class Style:
    font: ImageFont.FreeTypeFont
    stroke: int  # synthetic bold

    @property
    def size(self) -> int:
        return int(self.font.size)


def style(size: int, *, bold: bool = False) -> Style:
    face = find_cjk_font(bold)
    stroke = max(1, size // 30) if face.synthetic_bold else 0
    return Style(_load_font(face.path, face.index, size), stroke)
