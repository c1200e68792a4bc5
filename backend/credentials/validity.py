"""Validity of work credentials: how long one runs (the appointment's end, else three years) and
its status as of a moment (revoked, expired, else as recorded). Pure; no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from backend.core.clock import LOCAL_TZ
from backend.credentials.models import Credential
from backend.credentials.repository import ActiveAppointment
from backend.credentials.snapshot import CredentialView

#: Open-ended full-time appointments: the credential runs this many years from issue.
OPEN_ENDED_YEARS = 3


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def validity_end(appointment: ActiveAppointment, issued_at: datetime) -> datetime:
    """Until the end of the appointment's last day (Beijing time); open-ended: three years."""
    if appointment.end_date is not None:
        return datetime.combine(appointment.end_date + timedelta(days=1), time.min, LOCAL_TZ).astimezone(UTC)
    return add_years(issued_at, OPEN_ENDED_YEARS)


def effective_status(credential: Credential | CredentialView, now: datetime) -> str:
    if credential.status == "revoked":
        return "revoked"
    if now >= credential.expires_at:
        return "expired"
    return credential.status


def last_valid_day(credential: Credential) -> date:
    return (credential.expires_at - timedelta(seconds=1)).astimezone(LOCAL_TZ).date()
