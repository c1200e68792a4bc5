"""The CJK font of printed documents: Noto Sans CJK SC (Debian `fonts-noto-cjk`), embedded.

The full face has 65,000 CFF glyphs; parsing and subsetting it costs ~300 ms per document, most of
the render budget. So a *common* face is cut from it once (GB 2312's 6,763 hanzi and its symbols,
ASCII, Latin-1, CJK punctuation and full-width forms: ~7,500 glyphs) and kept in a cache directory;
documents use it, and only a document with a character outside it (a rare name character) also
loads the full face as a fallback. Both are embedded as subsets, so the PDF shows the same glyphs
either way.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

#: Where Debian (and most Linux distributions) put Noto CJK; index 2 of the collection is SC.
CANDIDATES = (
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"), 2),
)
_lock = threading.Lock()


class FontMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class CjkFont:
    full_path: Path
    full_index: int
    common_path: Path
    common_codepoints: frozenset[int]
    #: Face index when `common_path` is a collection (the bench renders with the full face).
    common_index: int = 0

    def covers(self, text: str) -> bool:
        return all(ord(ch) in self.common_codepoints or ch in "\n\r\t" for ch in text)


def _common_codepoints() -> set[int]:
    points = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    points |= set(range(0x2000, 0x2070)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    points |= {0x2460 + i for i in range(20)} | {0x2116, 0x2103, 0x25A1, 0x25A0, 0x2713, 0x2715}
    for hi in range(0xA1, 0xF8):  # every GB 2312 code point: symbols (rows 1-9) and hanzi (16-87)
        for lo in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((hi, lo)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return points


def _find_full() -> tuple[Path, int]:
    for path, index in CANDIDATES:
        if path.is_file():
            return path, index
    raise FontMissing("Noto Sans CJK not found: install Debian's fonts-noto-cjk")


_cached: dict[Path, CjkFont] = {}


def cjk_font(cache_dir: Path) -> CjkFont:
    """The font pair, cutting the common face into `cache_dir` on first use (a few seconds, once
    per machine and font version). Blocking: call off the event loop."""
    with _lock:
        if cache_dir in _cached:
            return _cached[cache_dir]
        from fontTools import subset
        from fontTools.ttLib import TTFont

        full_path, index = _find_full()
        stat = full_path.stat()
        tag = hashlib.sha256(f"{full_path}:{index}:{stat.st_size}:{stat.st_mtime_ns}:v3".encode()).hexdigest()[:16]
        common_path = cache_dir / f"noto-sans-sc-common-{tag}.otf"
        wanted = _common_codepoints()
        if not common_path.is_file():
            cache_dir.mkdir(parents=True, exist_ok=True)
            font = TTFont(full_path, fontNumber=index, lazy=True)
            options = subset.Options()
            # No OpenType layout: fpdf2 drops GSUB/GPOS when it embeds, and their closure over
            # 65,000 glyphs is most of the cutting time.
            options.layout_features = []
            options.drop_tables += ["GSUB", "GPOS", "GDEF", "VORG", "vhea", "vmtx"]
            options.name_IDs = ["*"]
            # Each document embeds a subset of this face. Without subroutines or hints the
            # subsetter does not have to execute charstrings to find which subroutines the kept
            # glyphs use (half of a render's time); print does not need CFF hints.
            options.desubroutinize = True
            options.hinting = False
            options.notdef_outline = True
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=wanted)
            subsetter.subset(font)
            tmp = common_path.with_suffix(f".{os.getpid()}.tmp")
            font.save(tmp)
            os.replace(tmp, common_path)
        covered = TTFont(common_path, lazy=True).getBestCmap()
        result = CjkFont(full_path, index, common_path, frozenset(covered))
        _cached[cache_dir] = result
        return result
