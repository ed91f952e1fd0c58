"""Login and logout. A failed login counts towards the lockout (office.users.authenticate); both
outcomes are audited. The session id is replaced at login (no session fixation)."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...office.audit import AuditEvent
from ...office.users import authenticate
from ..guard import client_address, render
from ..sessions import COOKIE, MAX_AGE_SECONDS, csrf_ok

REASONS = {"unknown": "用户名或密码错误 wrong user name or password",
           "wrong_password": "用户名或密码错误 wrong user name or password",
           "locked": "多次登录失败，账号暂时锁定 too many failed logins: the account is locked for a while",
           "disabled": "账号已停用 this account is disabled"}


def _safe_next(target: str | None) -> str:
    """Only a path on this server (no //host, no scheme): an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _set_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(COOKIE, value, max_age=MAX_AGE_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")


async def login_page(request: Request) -> Response:
    office = request.app.state.office
    session = await run_in_threadpool(office.sessions.from_cookie, request.cookies.get(COOKIE))
    if session is None:
        session = await run_in_threadpool(office.sessions.new, None)
    response = render(request, "login.html", session=session, mode_text=office.mode_text(),
                      next=_safe_next(request.query_params.get("next")), message="")
    _set_cookie(request, response, office.sessions.cookie_value(session))
    return response


async def login_submit(request: Request) -> Response:
    office = request.app.state.office
    session = await run_in_threadpool(office.sessions.from_cookie, request.cookies.get(COOKIE))
    form = await request.form()
    if not csrf_ok(session, form.get("csrf")):
        return render(request, "error.html", 403, message="请求缺少有效的 CSRF 令牌 the form's CSRF token is missing "
                      "or wrong: reload the login page", title="不允许 Not allowed")
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))

    def check():
        with office.writer() as cur:
            return authenticate(cur, username, password)
    result = await run_in_threadpool(check)
    address = client_address(request)
    if result.user is None:
        await run_in_threadpool(office.record, AuditEvent(username or "-", "web", address, "login_failed",
                                                          username, result.reason))
        return render(request, "login.html", 401, session=session, mode_text=office.mode_text(), next=target,
                      message=REASONS[result.reason])
    await run_in_threadpool(office.sessions.drop, session)      # rotation: the pre-login id dies here
    fresh = await run_in_threadpool(office.sessions.new, result.user.username)
    await run_in_threadpool(office.record, AuditEvent(result.user.username, "web", address, "login",
                                                      result.user.username, ""))
    if target == "/" and result.user.roles == {"employee"}:
        target = "/me"
    elif target == "/" and result.user.roles == {"admin"}:
        target = "/users"
    response = RedirectResponse(target, status_code=303)
    _set_cookie(request, response, office.sessions.cookie_value(fresh))
    return response


async def logout(request: Request) -> Response:
    office = request.app.state.office
    session = await run_in_threadpool(office.sessions.from_cookie, request.cookies.get(COOKIE))
    form = await request.form()
    if not csrf_ok(session, form.get("csrf")):
        return render(request, "error.html", 403, message="CSRF token missing", title="不允许 Not allowed")
    if session.username:
        await run_in_threadpool(office.record, AuditEvent(session.username, "web", client_address(request),
                                                          "logout", session.username, ""))
    await run_in_threadpool(office.sessions.drop, session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


routes = [Route("/login", login_page, methods=["GET"]), Route("/login", login_submit, methods=["POST"]),
          Route("/logout", logout, methods=["POST"])]
