"""Every ORM model, imported in one place so that Alembic and the migration test see the whole
schema."""

from backend.audit import models as audit_models
from backend.core import shared_models
from backend.core.db import Base
from backend.core.idempotency import IdempotencyRecord
from backend.credentials import models as credentials_models
from backend.documents_pdf import models as documents_pdf_models
from backend.evidence import models as evidence_models
from backend.incidents import models as incidents_models
from backend.inspections import models as inspections_models
from backend.notifications import models as notifications_models
from backend.personnel import models as personnel_models
from backend.supervision import models as supervision_models
from backend.sync import models as sync_models

__all__ = [
    "Base",
    "IdempotencyRecord",
    "audit_models",
    "credentials_models",
    "documents_pdf_models",
    "evidence_models",
    "incidents_models",
    "inspections_models",
    "notifications_models",
    "personnel_models",
    "shared_models",
    "supervision_models",
    "sync_models",
]
