"""Reading a few columns of an input file (`read_table(..., only=...)`, the tax declaration's ID
numbers): the same cells and file rows as reading every column, in every way a file is read (plain
CSV through DuckDB, CSV through pandas, XLSX), and the whole header still checked."""
from __future__ import annotations

import pandas as pd
import pytest
from handover_data import EMPLOYEE_HEADER, PEOPLE, write_employees

from payroll.errors import InputError
from payroll.io.importer import EMPLOYEES
from payroll.io.readers import read_table

ONLY = ("employee_id", "id_number")


def _blank_and_partial(people):
    """A blank line, a row with only other columns filled, a row with the ID alone."""
    blank = ("",) * len(EMPLOYEE_HEADER)
    name_only = ("", "无号") + ("",) * (len(EMPLOYEE_HEADER) - 2)
    id_only = ("", "", PEOPLE[0][2]) + ("",) * (len(EMPLOYEE_HEADER) - 3)
    return [people[0], blank, *people[1:3], name_only, id_only, *people[3:]]


def _write(tmp_path, kind: str, people):
    if kind == "xlsx":
        path = tmp_path / "employees.xlsx"
        pd.DataFrame(people, columns=EMPLOYEE_HEADER).astype(str).to_excel(path, index=False)
        return path
    path = write_employees(tmp_path / "employees.csv", people)
    if kind == "gb18030":      # not UTF-8: read by pandas, not by DuckDB
        path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))
    return path


@pytest.mark.parametrize("kind", ["csv", "gb18030", "xlsx"])
def test_the_wanted_columns_are_the_same_as_from_a_whole_read(tmp_path, kind):
    path = _write(tmp_path, kind, _blank_and_partial(PEOPLE))
    whole = read_table(path, EMPLOYEES)
    some = read_table(path, EMPLOYEES, only=ONLY)
    assert list(some.frame.columns) == list(ONLY)
    # a row counts when a wanted column is filled: the name-only row is left out, nothing else
    kept = whole.frame[list(ONLY)].ne("").any(axis=1)
    assert (whole.frame.name[~kept] == "无号").all() and (~kept).sum() == 1
    assert some.frame.reset_index(drop=True).equals(whole.frame.loc[kept, list(ONLY)].reset_index(drop=True))
    assert some.row_numbers.tolist() == whole.row_numbers[kept].tolist()
    assert some.headers == {c: whole.headers[c] for c in ONLY}
    assert some.positions == {c: whole.positions[c] for c in ONLY}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_unknown_column_is_refused_as_by_a_whole_read(tmp_path, kind):
    header = [*EMPLOYEE_HEADER, "加班小时"]
    people = [(*p, "3") for p in PEOPLE]
    if kind == "csv":
        path = write_employees(tmp_path / "employees.csv", people, header)
    else:
        path = tmp_path / "employees.xlsx"
        pd.DataFrame(people, columns=header).astype(str).to_excel(path, index=False)
    with pytest.raises(InputError) as whole:
        read_table(path, EMPLOYEES)
    with pytest.raises(InputError) as some:
        read_table(path, EMPLOYEES, only=ONLY)
    assert str(some.value) == str(whole.value) and "加班小时" in str(some.value)


def test_a_wanted_column_missing_from_an_optional_place_is_empty(tmp_path):
    """The ID column is optional for the import: absent, the reader gives it empty (the tax export
    then names each person's row)."""
    header = [h for h in EMPLOYEE_HEADER if h != "id_number"]
    people = [p[:2] + p[3:] for p in PEOPLE]
    path = write_employees(tmp_path / "employees.csv", people, header)
    some = read_table(path, EMPLOYEES, only=ONLY)
    assert some.frame.id_number.eq("").all() and some.frame.employee_id.tolist() == [p[0] for p in PEOPLE]
