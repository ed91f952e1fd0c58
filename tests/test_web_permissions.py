"""The permission matrix: every route × every role × a person in and out of the role's units. The
expected answers are written out by hand below (not read from payroll.web.permissions), so a change
to the role table that widens access fails here."""
from __future__ import annotations

import os

import pytest
from starlette.testclient import TestClient

from payroll.web.app import create_app
from web_site import csrf_of, log_in

ROLES = ("clerk", "reviewer", "approver", "hr", "auditor", "employee", "admin")
M = "2025-03"

# route → the roles that get in; person routes name the person with {person}
GET_ROUTES = {
    "/?q=FJ": {"clerk", "reviewer", "approver", "hr", "auditor"},
    "/person?id={person}": {"clerk", "reviewer", "approver", "hr", "auditor"},
    "/person?id={person}&compare=2025-02": {"clerk", "reviewer", "approver", "hr", "auditor"},
    f"/payslip.xlsx?id={{person}}&month={M}": {"clerk", "reviewer", "approver", "hr", "auditor"},
    "/certificate.xlsx?id={person}&year=2025": {"clerk", "reviewer", "approver", "hr", "auditor"},
    f"/api/explain?id={{person}}&month={M}": {"clerk", "reviewer", "approver", "hr", "auditor"},
    f"/api/compare?id={{person}}&month={M}&compare=2025-02": {"clerk", "reviewer", "approver", "hr", "auditor"},
    f"/confirmations?month={M}": {"hr", "auditor"},
    f"/confirmations.csv?month={M}": {"hr", "auditor"},
    "/months": {"clerk", "reviewer", "approver", "auditor"},
    f"/month/{M}": {"clerk", "reviewer", "approver", "auditor"},
    f"/month/{M}/review?swing=900": {"clerk", "reviewer", "approver", "auditor"},
    f"/month/{M}/review.xlsx?swing=900": {"clerk", "reviewer", "approver", "auditor"},
    f"/month/{M}/files/register.csv": {"clerk", "auditor"},
    "/me": {"employee"},
    f"/me/payslip?month={M}": {"employee"},
    f"/me/payslip.xlsx?month={M}": {"employee"},
    "/audit": {"auditor"},
    "/users": {"admin"},
}
# state-changing routes, posted with a valid CSRF token but arguments that change nothing (a step the
# month's state does not allow, a month that does not exist): the allowed roles get 400, the rest 403
POST_ROUTES = {
    f"/month/{M}/pass": ({"reviewer"}, {}),
    f"/month/{M}/approve": ({"approver"}, {}),
    f"/month/{M}/return": ({"reviewer", "approver"}, {"comment": "x"}),
    f"/month/{M}/close": ({"clerk"}, {}),
    "/months/run": ({"clerk"}, {"month": "2025-13"}),
    "/months/import": ({"clerk"}, {}),
    f"/month/{M}/files/tax": ({"clerk", "auditor"}, {}),
    "/me/answer": ({"employee"}, {"month": "1999-01", "answer": "confirmed"}),
    "/users/add": ({"admin"}, {"username": "", "password": "", "grants": ""}),
    "/users/nobody/disable": ({"admin"}, {}),
}


# a comparison traces two months (seconds each on a busy CI machine): in the CI tier the roles that get
# in are checked through HR (in and out of scope); PAYROLL_THOROUGH=1 checks every role
EXPENSIVE = ("compare=",)
THOROUGH = bool(os.environ.get("PAYROLL_THOROUGH"))


@pytest.fixture(scope="module")
def clients(office_site):
    app = create_app(str(office_site.db), None)
    made = {}
    with TestClient(app, follow_redirects=False) as anonymous:
        made[None] = anonymous
        for role in ROLES:
            client = TestClient(app, follow_redirects=False)
            client.__enter__()
            assert log_in(client, role).status_code == 303
            made[role] = client
        yield office_site, made
        for role in ROLES:
            made[role].__exit__(None, None, None)


@pytest.mark.parametrize("route", sorted(GET_ROUTES))
def test_get_routes_answer_by_role_and_scope(clients, route):
    site, made = clients
    people = {"in": site.person_a, "out": site.person_b} if "{person}" in route else {"any": None}
    for role in ROLES:
        if not THOROUGH and any(e in route for e in EXPENSIVE) and role in GET_ROUTES[route] and role != "hr":
            continue
        for where, person in people.items():
            status = made[role].get(route.format(person=person)).status_code
            expected = 200 if role in GET_ROUTES[route] else 403
            if where == "out" and role == "hr":
                expected = 403                  # HR of unit A on a person of unit B
            assert status == expected, (route, role, where, status)
    # nobody logged in: to the login page
    anonymous = made[None].get(route.format(person=site.person_a))
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("route", sorted(POST_ROUTES))
def test_post_routes_answer_by_role(clients, route):
    site, made = clients
    allowed, data = POST_ROUTES[route]
    for role in ROLES:
        csrf = csrf_of(made[role].get("/login").text if role is None else _any_page(made[role]))
        status = made[role].post(route, data={**data, "csrf": csrf}).status_code
        assert status == (400 if role in allowed else 403), (route, role, status)
    assert made[None].post(route, data=data).headers["location"].startswith("/login")


def _any_page(client) -> str:
    """A page carrying the session's CSRF token (every logged-in page has the logout form)."""
    for path in ("/months", "/", "/me", "/users", "/audit", "/confirmations"):
        answer = client.get(path)
        if answer.status_code == 200:
            return answer.text
    raise AssertionError("no page")


def test_employee_sees_only_themselves(clients):
    site, made = clients
    employee = made["employee"]
    assert employee.get(f"/me/payslip?month={M}").status_code == 200
    page = employee.get(f"/me/payslip?month={M}").text
    assert site.person_a in page and site.other_a not in page
    # any other way to a person's pay is closed, their own included (the employee pages take no ID)
    for person in (site.other_a, site.person_b, site.person_a):
        assert employee.get(f"/person?id={person}").status_code == 403
        assert employee.get(f"/payslip.xlsx?id={person}&month={M}").status_code == 403
    assert employee.get(f"/me/payslip?month={M}&id={site.other_a}").text.count(site.other_a) == 0


def test_hr_search_finds_only_their_units(clients):
    site, made = clients
    page = made["hr"].get("/?q=FJ").text
    assert site.person_a in page and site.other_a in page and site.person_b not in page
    everyone = made["auditor"].get("/?q=FJ").text
    assert site.person_b in everyone


def test_scope_of_a_unit_and_below_is_a_name_prefix(clients):
    """hr@unit (no /*) sees that unit only; hr@prefix/* sees the units named under it."""
    from payroll.office.users import Grant, User
    from payroll.web.permissions import can_touch
    office_site, made = clients
    con = made["hr"].app.state.office.con.cursor()      # its own connection: the temporary roles stay here
    unit_a = office_site.unit_a
    exact = User("x", "x", None, False, (Grant("hr", unit_a, False),))
    parent = unit_a[:unit_a.index("局") + 1]                  # the city bureau: every unit is under it
    below = User("x", "x", None, False, (Grant("hr", parent, True),))
    not_below = User("x", "x", None, False, (Grant("hr", parent, False),))
    con.execute("CREATE TEMP TABLE user_roles AS SELECT * FROM (VALUES ('x', 'hr', ?, ?)) t(username, role, unit, include_below)",
                [unit_a, False])
    assert can_touch(con, exact, "pay.view", office_site.person_a)
    assert not can_touch(con, exact, "pay.view", office_site.person_b)
    con.execute("DELETE FROM user_roles")
    con.execute("INSERT INTO user_roles VALUES ('x', 'hr', ?, true)", [parent])
    assert can_touch(con, below, "pay.view", office_site.person_a)
    assert can_touch(con, below, "pay.view", office_site.person_b)
    con.execute("DELETE FROM user_roles")
    con.execute("INSERT INTO user_roles VALUES ('x', 'hr', ?, false)", [parent])
    assert not can_touch(con, not_below, "pay.view", office_site.person_a)
    assert not can_touch(con, exact, "audit.read", office_site.person_a)   # hr never reads the audit log


@pytest.mark.parametrize("query, phrase", [
    ("month=9999-12", "out of range"),          # defect 7: a 500 from the page's API
    ("month=2025-13", "not a month"),
])
def test_api_errors_come_back_as_json(clients, query, phrase):
    """Defect 12: the API answered its errors with an HTML page; defect 7: --month 9999-12 gave a 500."""
    site, made = clients
    answer = made["clerk"].get(f"/api/explain?id={site.person_a}&{query}")
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/json")
    assert phrase in answer.json()["error"]
