"""A small office for the web tests: the shared synthetic database (60 people, January to March
2025 run) with one user per role; HR of unit A sees unit A only."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from explain_demo import build_demo_database
from payroll.db import connect
from payroll.office.users import Grant, add_user

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Site:
    db: Path
    unit_a: str
    unit_b: str
    person_a: str          # in unit A: HR of A may see them; the employee user is this person
    other_a: str           # another person of unit A
    person_b: str          # in unit B


def build_site(folder: Path, people: int = 60) -> Site:
    db = build_demo_database(folder, people=people, last="2025-03")
    con = duckdb.connect(str(db))
    # a name that would run as script if a page did not escape it
    con.execute("UPDATE employees SET name = '<script>alert(1)</script>' "
                "WHERE employee_id = (SELECT max(employee_id) FROM employees)")
    units = con.execute("SELECT e.unit, list(e.employee_id ORDER BY e.employee_id) FROM employees e "
                        "JOIN payslips p ON p.employee_id = e.employee_id AND p.month = '2025-03' "
                        "AND p.month = '2025-03' WHERE e.name NOT LIKE '<%' "
                        "GROUP BY e.unit HAVING count(*) >= 2 ORDER BY count(*) DESC, e.unit").fetchall()
    (unit_a, people_a) = units[0]
    unit_b, people_b = next((u, p) for u, p in units[1:] if not u.startswith(unit_a) and not unit_a.startswith(u))
    con.close()
    con = connect(db)
    users = {"clerk": [Grant("clerk", "*", True)], "reviewer": [Grant("reviewer", "*", True)],
             "approver": [Grant("approver", "*", True)], "hr": [Grant("hr", unit_a, True)],
             "auditor": [Grant("auditor", "*", True)], "employee": [Grant("employee", "*", True)],
             "admin": [Grant("admin", "*", True)],
             # holds both roles: may submit or approve a month, never both
             "clerkapprover": [Grant("clerk", "*", True), Grant("approver", "*", True)]}
    for name, grants in users.items():
        add_user(con, name, PASSWORD, grants, display_name=f"{name} user",
                 employee_id=people_a[0] if name == "employee" else None)
    con.close()
    return Site(db, unit_a, unit_b, people_a[0], people_a[1], people_b[0])


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client, username: str, password: str = PASSWORD):
    """A TestClient logged in as `username`; returns the login response."""
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf": csrf_of(page.text),
                                       "next": "/"}, follow_redirects=False)
