"""A sample two-page on-site inspection record with four signatures (bench and layout review)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image, ImageDraw

from backend.documents_pdf.layout import PrintSignature, PrintView


def ink_png(seed: int, size: tuple[int, int] = (480, 180)) -> bytes:
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    w, h = size
    pts = [(int(w * (0.08 + 0.14 * i)), int(h * (0.3 + 0.4 * ((i * 7 + seed) % 3) / 2))) for i in range(7)]
    ImageDraw.Draw(im).line(pts, fill=(15, 15, 90, 255), width=6)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def sample_view(*, page_url: str = "http://127.0.0.1:8000/d/sample", supersedes: tuple[str, str] | None = None,
                rare: bool = False) -> PrintView:
    t0 = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)
    findings = [("major" if i == 2 else "general",
                 f"第{i}号储罐区{'可燃气体报警器未定期检定，' if i % 2 else '防火堤有裂缝，'}现场未见检查记录，"
                 "操作人员未按规定佩戴劳动防护用品。") for i in range(1, 9)]
    return PrintView(
        document_id="0b5c1c1e-6f0e-4d59-9d3f-2f7a9d3c6a11", doc_type="on_site_inspection_record", version=2,
        content={"text": "检查组于上午到达现场，出示证件后，在企业安全负责人陪同下对储罐区、装卸区、"
                         "配电室和中控室进行了检查。" * 6,
                 "scope": "储罐区、装卸区、配电室、中控室",
                 "requirements": ["立即停止违规动火作业", "七日内完成可燃气体报警器检定", "十五日内修复防火堤"],
                 "deadline": "2026-12-18"},
        content_sha256="6f1d3c0a9b8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a493827160f5e4",
        agency_name="沈阳市应急管理综合行政执法队",
        enterprise_name="沈阳示例化工有限公司" + ("（喆堃）" if rare else ""),
        enterprise_credit_code="91210102MA0Y2K3L4X", site_address="沈阳市和平区南京北街1号",
        inspected_on=t0, locked_at=t0 + timedelta(hours=2), page_url=page_url,
        team=[("officer", "王强"), ("officer", "李明"), ("technical_inspector", "张伟"),
              ("technical_inspector", "赵丽")],
        credentials=[("王强", "enforcement_certificate", "LN-ZF-210100-2024004", "李厂长", t0),
                     ("李明", "enforcement_certificate", "LN-ZF-210100-2024005", "李厂长", t0),
                     ("张伟", "work_credential", "LNJ-2026-000017-X", "李厂长", t0)],
        findings=findings,
        signatures=[PrintSignature("officer", "王强", t0 + timedelta(minutes=100), ink_png(1)),
                    PrintSignature("officer", "李明", t0 + timedelta(minutes=101), ink_png(2)),
                    PrintSignature("technical_inspector", "张伟", t0 + timedelta(minutes=102), ink_png(3)),
                    PrintSignature("enterprise_representative", "李厂长", t0 + timedelta(minutes=110), ink_png(4))],
        supersedes=supersedes,
    )
