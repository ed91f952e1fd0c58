"""HR's search with the server's index of IDs and names (payroll.web.search): the same people, in the
same order, as the plain scan of the roster gives, for texts of every kind; and a new import is seen."""
from __future__ import annotations

from payroll.web.search import MAX_CANDIDATES, PeopleIndex


def _scan(cur, text: str) -> list[tuple]:
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return cur.execute(
        "SELECT employee_id, name, id_number_masked, unit FROM employees "
        "WHERE (employee_id = ? OR employee_id ILIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\') "
        "ORDER BY employee_id <> ?, employee_id LIMIT 50", [text, like, like, text]).fetchall()


class _Ctx:
    """What people.search reads of a request: the office, its cursor and an all-units scope."""

    def __init__(self, office):
        self.office, self.cur = office, office.cursor()

    def scope(self, action, column):
        return "true", []


def test_the_index_finds_what_the_scan_finds(office):
    from payroll.web.routes.people import search
    cur = office.cursor()
    people = cur.execute("SELECT employee_id, name FROM employees ORDER BY employee_id").fetchall()
    some_id, some_name = people[7]
    texts = [some_id, some_id.lower(), some_id[2:6], some_id[-3:], some_name, some_name[:1], some_name[-1:],
             "FJ", "fj0", "zz", "%", "_", "\\", "<script>", "0", some_id + "x", some_name + some_id]
    for text in texts:
        assert search(_Ctx(office), text) == _scan(cur, text), text


def test_a_new_employee_is_found_after_their_import(office):
    from payroll.web.routes.people import search
    cur = office.cursor()
    first = search(_Ctx(office), "FJ")                        # the index is made here
    assert first
    cur.execute("INSERT INTO employees SELECT 'NEW000001' AS employee_id, '新同事' AS name, * EXCLUDE (employee_id, name) "
                "FROM employees LIMIT 1")
    assert [r[0] for r in search(_Ctx(office), "新同事")] == ["NEW000001"]
    assert search(_Ctx(office), "new0000") == _scan(cur, "new0000")
    # an ID that is not plain ASCII: Python's lower case might not be DuckDB's, so the scan answers
    cur.execute("INSERT INTO employees SELECT 'ÄNE00002' AS employee_id, '另一位' AS name, * EXCLUDE (employee_id, name) "
                "FROM employees LIMIT 1")
    assert office.people.index(cur) is None
    assert search(_Ctx(office), "äne") == _scan(cur, "äne") and search(_Ctx(office), "äne")


def test_candidates_are_a_superset_and_give_way_when_too_many():
    ids = [f"FJ{n:06d}" for n in range(MAX_CANDIDATES + 10)]
    names = [f"张{n}" for n in range(len(ids))]
    index = PeopleIndex(ids, names)
    assert set(index.candidates("fj000012")) == {i for i in ids if "fj000012" in i.lower()}
    assert index.candidates("张1") is not None and set(index.candidates("张1")) == {
        i for i, n in zip(ids, names) if "张1" in n}
    assert index.candidates("FJ") is None                      # every ID: the plain scan answers
    assert index.candidates("nobody") == []

