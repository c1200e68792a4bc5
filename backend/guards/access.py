"""Who may see and touch what: roles and jurisdiction (own agency and the agencies below it), as
pure checks on a Principal. Row filters in repositories use the same path-prefix rule."""

from __future__ import annotations

from backend.core.auth import Principal
from backend.core.errors import Forbidden, NotFound

#: Role names as a Chinese message says them (English enum names never appear inside message_zh).
ROLE_ZH = {
    "officer": "执法人员",
    "technical_inspector": "技术检查员",
    "social_supervisor": "社会监督员",
    "hr_admin": "人事管理员",
    "agency_admin": "机关管理员",
}


def role_zh(role: str) -> str:
    return ROLE_ZH.get(role, "其他角色")


def in_jurisdiction(principal: Principal, agency_path: str) -> bool:
    return agency_path.startswith(principal.agency_path)


def require_role(principal: Principal, *roles: str, article: str | None = None) -> None:
    if principal.role not in roles:
        raise Forbidden(
            f"Role {principal.role} may not do this (needs one of: {', '.join(roles)})",
            f"当前角色无权执行此操作（需要：{'、'.join(role_zh(r) for r in roles)}）",
            article=article,
            detail={"required_roles": list(roles)},
        )


def require_visible(principal: Principal, agency_path: str, what: str = "resource") -> None:
    """Reading something outside one's jurisdiction looks exactly like it does not exist."""
    if not in_jurisdiction(principal, agency_path):
        raise NotFound(f"No such {what}", "未找到")


def require_may_read_person(principal: Principal, person_id: object, agency_path: str) -> None:
    """A person's record: oneself always; agency staff, officers and inspectors within their
    jurisdiction. A social supervisor is a member of the public helping the agency, not its
    staff: others' records (phone, masked identity number, role) are not theirs to read."""
    if person_id == principal.person_id:
        return
    if principal.role == "social_supervisor":
        raise NotFound("No such person", "未找到该人员")
    require_visible(principal, agency_path, "person")


def require_may_list_people(principal: Principal) -> None:
    if principal.role == "social_supervisor":
        raise Forbidden("Social supervisors may read only their own record (GET /api/v1/me)",
                        "社会监督员只能查看本人信息", detail={"required_roles": [
                            r for r in ROLE_ZH if r != "social_supervisor"]})


def require_writable(principal: Principal, agency_path: str) -> None:
    if not in_jurisdiction(principal, agency_path):
        raise Forbidden("Outside your agency's jurisdiction", "超出本机关管辖范围",
                        detail={"reason": "jurisdiction"})


def may_see_id_number(principal: Principal, person_agency_path: str) -> bool:
    """ID numbers are shown in full only to the personnel office of the person's agency or above."""
    return principal.role == "hr_admin" and in_jurisdiction(principal, person_agency_path)
