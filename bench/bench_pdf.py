"""Benchmark of printed documents: render + PAdES seal of a two-page on-site inspection record
with four signatures (bench/pdf_sample.py), on one core, and the memory it takes.

Everything runs in this process, pinned to one CPU (--cpu, default the last one) so that the
figure is "one core"; the baselines are measured in the same run, interleaved with the subject:

  subject    render + seal of the sample record (what a first GET of a locked version costs)
  seal only  pyHanko signing of the already rendered bytes (the PAdES part alone)
  minimal    a one-line PDF with the same embedded CJK face and the same seal (fixed costs)
  full face  the sample rendered with the whole 65,000-glyph Noto face instead of the common cut
             (what the font cut saves)

Peak memory: the process's peak RSS (ru_maxrss) before the first render and after all of them,
and tracemalloc's peak for one render + seal.

    .venv/bin/python bench/bench_pdf.py [--rounds 30] [--cpu N]

Goal: subject p50 <= 300 ms on one core. Other engineers' work shares the machine's two cores:
absolute times are noisy; the ratios, measured interleaved, much less.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.core.signing import KeyRing  # noqa: E402
from backend.documents_pdf import ca, signer  # noqa: E402
from backend.documents_pdf.fonts import CjkFont, cjk_font  # noqa: E402
from backend.documents_pdf.layout import PrintView, render  # noqa: E402
from bench.pdf_sample import sample_view  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "fieldcheck_bench_pdf"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})

    keys_dir = CACHE / "keys"
    ca_ring, seal_ring = KeyRing(keys_dir, "ca").load(), KeyRing(keys_dir, "seal").load()
    now = datetime.now(UTC)
    root = ca.issue_root(ca_ring.current, "bench", now)
    seal = ca.issue_seal(ca_ring.current, root.der, seal_ring.current, "210100", "沈阳市应急管理局", "bench", now)
    t0 = time.perf_counter()
    font = cjk_font(CACHE / "fonts")
    print(f"font: common face ready in {time.perf_counter() - t0:.2f} s "
          f"({len(font.common_codepoints)} code points; cut once per machine)")
    full = CjkFont(font.full_path, font.full_index, font.full_path, frozenset(range(0x110000)), font.full_index)

    view = sample_view()
    minimal = PrintView(document_id="0", doc_type="on_site_inspection_record", version=1, content={"text": "无"},
                        content_sha256="0" * 64, agency_name="沈阳市应急管理局", enterprise_name="企业",
                        enterprise_credit_code="0", site_address="沈阳", inspected_on=now, locked_at=now,
                        page_url=None)

    def seal_it(pdf: bytes) -> bytes:
        return signer.sign_pdf(pdf, seal_ring.current, seal.der, root.der, reason="bench", location="沈阳",
                               name="沈阳市应急管理局")

    unsigned = render(view, font)
    signed = seal_it(unsigned)
    from pyhanko.pdf_utils.reader import PdfFileReader

    pages = int(PdfFileReader(io.BytesIO(signed)).root["/Pages"]["/Count"])
    assert signer.check_pdf(signed, [root.der]).ok
    rss_before = rss_mb()

    cases: dict[str, Callable[[], object]] = {
        "subject (render + seal)": lambda: seal_it(render(view, font)),
        "seal only": lambda: seal_it(unsigned),
        "minimal (1 line + seal)": lambda: seal_it(render(minimal, font)),
        "full face (render + seal)": lambda: seal_it(render(dataclasses.replace(view), full)),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(5):
        cases["subject (render + seal)"]()
    rss_subject = rss_mb()  # peak after the subject alone (the full face below takes more)
    for fn in cases.values():  # warm-up
        fn()
    for _ in range(args.rounds):
        for name, fn in cases.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
            cpu[name].append((time.thread_time() - start_cpu) * 1000)
    rss_after = rss_mb()

    tracemalloc.start()
    seal_it(render(view, font))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    subject = statistics.median(times["subject (render + seal)"])
    subject_cpu = statistics.median(cpu["subject (render + seal)"])
    print(f"\nsample: {pages} pages, 4 signatures, {len(signed) / 1024:.0f} kB signed; {args.rounds} rounds "
          f"on CPU {args.cpu}; load average {os.getloadavg()[0]:.2f} (other processes share the core: "
          "wall time stretches with them, CPU time much less)")
    print(f"{'case':28} {'wall p50':>9} {'wall p90':>9} {'CPU p50':>8} {'subject/case (CPU)':>19}")
    for name, values in times.items():
        c50 = statistics.median(cpu[name])
        print(f"{name:28} {statistics.median(values):9.1f} {pct(values, 0.9):9.1f} {c50:8.1f} "
              f"{subject_cpu / c50:19.2f}")
    verdict = "met" if subject_cpu <= 300 else "NOT met"
    print(f"\ngoal: subject p50 <= 300 ms of one core -> {verdict} (CPU {subject_cpu:.0f} ms, wall {subject:.0f} ms)")
    print(f"memory: peak RSS {rss_before:.0f} MB after imports and one render, {rss_subject:.0f} MB after five "
          f"more renders (+{rss_subject - rss_before:.0f} MB), {rss_after:.0f} MB after the full-face rounds; "
          f"tracemalloc peak of one render + seal: {peak / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
