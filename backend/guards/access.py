"""Who may see and touch what: roles and jurisdiction (own agency and the agencies below it), as
pure checks on a Principal. Row filters in repositories use the same path-prefix rule."""

from __future__ import annotations

from backend.core.auth import Principal
from backend.core.errors import Forbidden, NotFound


def in_jurisdiction(principal: Principal, agency_path: str) -> bool:
    return agency_path.startswith(principal.agency_path)


def require_role(principal: Principal, *roles: str, article: str | None = None) -> None:
    if principal.role not in roles:
        raise Forbidden(
            f"Role {principal.role} may not do this (needs one of: {', '.join(roles)})",
            f"当前角色无权执行此操作（需要：{'、'.join(roles)}）",
            article=article,
            detail={"required_roles": list(roles)},
        )


def require_visible(principal: Principal, agency_path: str, what: str = "resource") -> None:
    """Reading something outside one's jurisdiction looks exactly like it does not exist."""
    if not in_jurisdiction(principal, agency_path):
        raise NotFound(f"No such {what}", "未找到")


def require_writable(principal: Principal, agency_path: str) -> None:
    if not in_jurisdiction(principal, agency_path):
        raise Forbidden("Outside your agency's jurisdiction", "超出本机关管辖范围",
                        detail={"reason": "jurisdiction"})


def may_see_id_number(principal: Principal, person_agency_path: str) -> bool:
    """ID numbers are shown in full only to the personnel office of the person's agency or above."""
    return principal.role == "hr_admin" and in_jurisdiction(principal, person_agency_path)
