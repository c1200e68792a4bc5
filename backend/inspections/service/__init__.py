"""Use cases of inspections: planning, presence (check-ins, check-outs, credential displays), the
start rule, findings, finishing — and the Art. 12/13 gate every enforcement act passes through.

Another domain's enforcement act (evidence) is gated with:

    ctx = await load_act_context(session, principal, inspection_id, now)
    require_may_act(ctx, principal)

Offline sync does not call the gate itself: each op runs the same command function as its HTTP
endpoint (backend/sync/commands.py), and that function's use case passes the gate.

Raises domain errors; knows nothing of HTTP; never commits.
"""

from backend.inspections.service.context import (
    ACTIVE_STATUSES,
    MAX_ACCURACY_ALLOWANCE_M,
    MAX_CLOCK_SKEW,
    ActContext,
    hold,
    load_act_context,
    load_inspection,
    local_day,
    position_read,
    require_active,
    require_aware,
    require_may_act,
    require_member,
    require_not_future,
    wgs84,
)
from backend.inspections.service.planning import (
    add_finding,
    create_inspection,
    finish_inspection,
    grant_signing_authorisation,
    officer_readiness,
    start_inspection,
)
from backend.inspections.service.presence import check_in, check_out, record_display
from backend.inspections.service.reads import (
    check_in_read,
    display_read,
    finding_read,
    get_inspection,
    inspection_read,
    list_inspections,
    list_item,
    site_read,
)

__all__ = [
    "ACTIVE_STATUSES", "MAX_ACCURACY_ALLOWANCE_M", "MAX_CLOCK_SKEW", "ActContext", "add_finding", "check_in",
    "check_in_read", "check_out", "create_inspection", "display_read", "finding_read", "finish_inspection",
    "get_inspection", "grant_signing_authorisation", "hold", "inspection_read", "list_inspections", "list_item",
    "load_act_context", "load_inspection", "local_day", "officer_readiness", "position_read",
    "record_display", "require_active", "require_aware", "require_may_act", "require_member",
    "require_not_future", "site_read", "start_inspection", "wgs84",
]
