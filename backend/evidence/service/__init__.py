"""Use cases of evidence photos: intake (checks, content-addressed storage, the sealed receipt),
reads through the custody log, owners and who may see their photos, housekeeping of the store.
No HTTP here: the multipart body is received on the controller side (backend/evidence/upload.py)
and handed over as a `ReceivedUpload`.

    owners.py        Owner, the owner-kind registry, the inspection as an owner
    form.py          the upload's text fields, checked all at once
    intake.py        intake_photo: check, store, record
    receipts.py      the signed receipt of an upload
    custody.py       the custody log
    reads.py         one photo, an owner's photos, the GeoJSON export
    housekeeping.py  sweeps of the photo store
"""

from backend.evidence.service.custody import ClientInfo, custody_cursor, custody_page, custody_read, custody_row
from backend.evidence.service.form import MAX_NOTE_CHARS, IntakeForm, ReceivedUpload, invalid_fields, parse_form
from backend.evidence.service.housekeeping import sweep, sweep_temp_once
from backend.evidence.service.intake import (
    FLAG_ORDER,
    MAX_ACCURACY_ALLOWANCE_M,
    POSITION_MISMATCH_M,
    exif_time_utc,
    intake_photo,
)
from backend.evidence.service.owners import (
    TIME_TOLERANCE,
    Authorize,
    Owner,
    VisibilityCheck,
    count_for_inspection,
    inspection_owner,
    inspection_visible,
    load_visible,
    register_owner_kind,
    require_owner_visible,
)
from backend.evidence.service.reads import (
    MAX_EXPORT,
    MAX_WITHIN_M,
    evidence_read,
    export_geojson,
    get_evidence,
    list_evidence,
    open_original,
    parse_near,
    read_thumbnail,
)
from backend.evidence.service.receipts import make_receipt, verify_receipt

__all__ = [
    "FLAG_ORDER", "MAX_ACCURACY_ALLOWANCE_M", "MAX_EXPORT", "MAX_NOTE_CHARS", "MAX_WITHIN_M", "POSITION_MISMATCH_M",
    "TIME_TOLERANCE", "Authorize", "ClientInfo", "IntakeForm", "Owner", "ReceivedUpload", "VisibilityCheck",
    "count_for_inspection", "custody_cursor", "custody_page", "custody_read", "custody_row", "evidence_read",
    "exif_time_utc", "export_geojson", "get_evidence", "inspection_owner", "inspection_visible", "intake_photo",
    "invalid_fields", "list_evidence", "load_visible", "make_receipt", "open_original", "parse_form", "parse_near",
    "read_thumbnail", "register_owner_kind", "require_owner_visible", "sweep", "sweep_temp_once", "verify_receipt",
]
