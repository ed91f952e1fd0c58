"""The one decorator every page goes through (STYLE §4): it names the page's action, sends a visitor
without a session to the login page, refuses a POST without the session's CSRF token, answers 403
to a user whose roles lack the action or whose units do not hold the person asked for, runs the page
in one read snapshot, and records the page's audit event. No route does any of this itself."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from ..errors import PayrollError
from ..office.audit import AuditEvent
from ..office.users import ROLE_LABELS, User, get_user
from .permissions import ACTIONS, allowed, can_touch, scope_condition
from .sessions import COOKIE, Session, csrf_ok

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
NAV = (("/", "people.search", "查找 Find people"), ("/months", "months.read", "月份 Months"),
       ("/confirmations", "confirmations.read", "确认情况 Confirmations"), ("/me", "own.payslips", "我的工资条 My payslips"),
       ("/audit", "audit.read", "审计日志 Audit log"), ("/users", "users.manage", "用户 Users"))


def money(value) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"


def signed_money(value) -> str:
    amount = Decimal(str(value))
    return ("+" if amount > 0 else "") + f"{amount:,.2f}"


def fen_signed(fen: int) -> str:
    return signed_money(Decimal(fen) / 100)


TEMPLATES.env.filters.update(money=money, signed=signed_money, fen_signed=fen_signed)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass
class Ctx:
    """What a page handler gets: the request's parameters, the user, a cursor in the read snapshot."""
    request: Request
    office: "object"
    user: User
    session: Session
    cur: object
    form: dict
    audit_target: str = ""
    audit_detail: str = ""
    extra_events: list[tuple[str, str, str]] = field(default_factory=list)

    def param(self, name: str, default: str = "") -> str:
        if name in self.form:
            value = self.form[name]
            return value if isinstance(value, str) else default
        return self.request.query_params.get(name, default)

    def may(self, action: str) -> bool:
        return allowed(self.user, action)

    def scope(self, action: str, column: str = "p.employee_id") -> tuple[str, list]:
        return scope_condition(self.user, action, column)

    def render(self, template: str, status: int = 200, **context) -> Response:
        return render(self.request, template, status, user=self.user, session=self.session,
                      mode_text=self.office.mode_text(), may=self.may, **context)


def render(request: Request, template: str, status: int = 200, user: User | None = None,
           session: Session | None = None, mode_text: str = "", **context) -> Response:
    nav = [(href, label) for href, action, label in NAV if user is not None and allowed(user, action)]
    roles = ", ".join(sorted({ROLE_LABELS[g.role] for g in user.grants})) if user else ""
    return TEMPLATES.TemplateResponse(request, template, {
        "user": user, "roles": roles, "csrf": session.csrf if session else "", "nav": nav,
        "mode_text": mode_text, **context}, status_code=status)


def refuse(request: Request, ctx_user: User | None, session: Session | None, mode_text: str, status: int,
           message: str) -> Response:
    if request.url.path.startswith("/api/"):           # a program asked: the reason as JSON, not a page
        return JSONResponse({"error": message, "status": status}, status_code=status)
    return render(request, "error.html", status, user=ctx_user, session=session, mode_text=mode_text,
                  message=message, title="不允许 Not allowed" if status == 403 else "错误 Error")


def to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def page(action: str, *, audit: str | None = None, person: str | None = None):
    """`person`: the parameter naming the employee the page reads ("self": the user's own record);
    the user's scope for `action` must hold that person. `audit`: the event recorded on success."""
    assert action in ACTIONS, action

    def wrap(handler):
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            office = request.app.state.office
            # the session is read from the database: off the event loop, like every query
            session = await run_in_threadpool(office.sessions.from_cookie, request.cookies.get(COOKIE))
            if session is None or session.username is None:
                return to_login(request)
            form: dict = {}
            if request.method == "POST":
                data = await request.form()
                if not csrf_ok(session, data.get("csrf")):
                    return refuse(request, None, session, "", 403, "请求缺少有效的 CSRF 令牌 the form's CSRF token is "
                                  "missing or wrong: reload the page and try again")
                form = dict(data)
            return await run_in_threadpool(_serve, handler, request, office, session, form, action, audit, person)
        endpoint.action = action
        return endpoint
    return wrap


def _serve(handler, request, office, session, form, action, audit, person) -> Response:
    address = client_address(request)
    try:
        with office.snapshot() as cur:
            user = get_user(cur, session.username)
            mode_text = office.mode_text()
            if user is None or user.disabled:
                office.sessions.drop(session)
                return to_login(request)
            if not allowed(user, action):
                return refuse(request, user, session, mode_text, 403,
                              f"你的角色没有此权限 your roles do not allow: {ACTIONS[action].description}")
            target = ""
            if person is not None:
                target = (user.employee_id or "") if person == "self" else (
                    form.get(person) or request.query_params.get(person, ""))
                if not target or not can_touch(cur, user, action, target):
                    office.record(AuditEvent(user.username, "web", address, "denied", str(target),
                                             f"{action} {request.url.path}"))
                    return refuse(request, user, session, mode_text, 403,
                                  "此人不在你的管辖范围内 this person is not in your units")
            ctx = Ctx(request, office, user, session, cur, form, audit_target=target)
            response = handler(ctx)
    except PayrollError as error:
        return refuse(request, None, session, "", 400, str(error))
    if audit is not None and response.status_code < 400:
        office.record(AuditEvent(user.username, "web", address, audit, ctx.audit_target, ctx.audit_detail))
    for event_action, event_target, event_detail in ctx.extra_events:
        office.record(AuditEvent(user.username, "web", address, event_action, event_target, event_detail))
    return response
