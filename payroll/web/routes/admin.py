"""The audit log (auditor) and the users (admin): admin manages users and nothing else."""
from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...errors import PayrollError
from ...office import audit
from ...office.users import ROLE_LABELS, ROLES, add_user, disable_user, list_users, parse_grant, set_password
from ..guard import Ctx, page


@page("audit.read", audit="view_audit")
def audit_page(ctx: Ctx) -> Response:
    person, action = ctx.param("person").strip(), ctx.param("action").strip()
    ctx.audit_target = person
    entries = audit.entries(ctx.cur, person=person or None, action=action or None)
    return ctx.render("audit.html", title="审计日志 Audit log", entries=entries, person=person, action=action,
                      verified=audit.verify(ctx.cur))


@page("users.manage")
def users_page(ctx: Ctx) -> Response:
    return ctx.render("users.html", title="用户 Users", users=list_users(ctx.cur), roles=ROLES,
                      role_labels=ROLE_LABELS)


@page("users.manage", audit="user_add")
def user_add(ctx: Ctx) -> Response:
    grants = [parse_grant(text) for text in ctx.param("grants").replace(",", " ").split() if text]
    username = ctx.param("username").strip()
    ctx.audit_target = username
    with ctx.office.writer() as cur:
        user = add_user(cur, username, ctx.param("password"), grants, display_name=ctx.param("display_name") or None,
                        employee_id=ctx.param("employee_id").strip() or None)
    ctx.audit_detail = ", ".join(str(g) for g in user.grants)
    return RedirectResponse("/users", status_code=303)


def _target(ctx: Ctx) -> str:
    username = ctx.request.path_params["username"]
    ctx.audit_target = username
    return username


@page("users.manage", audit="user_disable")
def user_disable(ctx: Ctx) -> Response:
    username = _target(ctx)
    if username == ctx.user.username:
        raise PayrollError("an admin may not disable their own account")
    with ctx.office.writer() as cur:
        disable_user(cur, username, True)
    ctx.office.sessions.drop_user(username)
    return RedirectResponse("/users", status_code=303)


@page("users.manage", audit="user_enable")
def user_enable(ctx: Ctx) -> Response:
    username = _target(ctx)
    with ctx.office.writer() as cur:
        disable_user(cur, username, False)
    return RedirectResponse("/users", status_code=303)


@page("users.manage", audit="user_passwd")
def user_passwd(ctx: Ctx) -> Response:
    username = _target(ctx)
    with ctx.office.writer() as cur:
        set_password(cur, username, ctx.param("password"))
    if username != ctx.user.username:
        ctx.office.sessions.drop_user(username)
    return RedirectResponse("/users", status_code=303)


routes = [Route("/audit", audit_page), Route("/users", users_page),
          Route("/users/add", user_add, methods=["POST"]),
          Route("/users/{username}/disable", user_disable, methods=["POST"]),
          Route("/users/{username}/enable", user_enable, methods=["POST"]),
          Route("/users/{username}/passwd", user_passwd, methods=["POST"])]
