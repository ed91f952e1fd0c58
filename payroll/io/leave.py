"""`payroll import --leave F`: leave records (employee_id, kind, start, end, note), issue 14.

Every row is checked before anything is written: the kind, the dates, no overlap with another
leave of the same person (in the file or already stored), inside employment (hire date to leave
date), a work-injury leave only with a work-injury event, no more maternity, paternity, marriage
or bereavement days than the region's leave_days row, and no more annual leave in a year than the
entitlement (职工带薪年休假条例 art. 3; refused, not warned: a payroll that pays leave beyond the
balance pays days the law does not owe, and the untaken-leave pay would go negative). A record is
keyed by person and start date: importing it again replaces it.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from ..calendar import CalendarError, WORKDAY, year_days
from ..errors import CellProblem
from ..policy import Policy
from .checks import ProblemLog, parse_choice, parse_dates, require_known_employee
from .readers import Layout, RawTable

LEAVE = Layout("leave", required=("employee_id", "kind", "start", "end"), optional=("note",))
LEAVE_KINDS = {
    "annual": "annual", "年休假": "annual", "年假": "annual",
    "sick": "sick", "病假": "sick",
    "maternity": "maternity", "产假": "maternity",
    "paternity": "paternity", "陪产假": "paternity", "护理假": "paternity",
    "marriage": "marriage", "婚假": "marriage",
    "bereavement": "bereavement", "丧假": "bereavement",
    "injury": "injury", "工伤假": "injury", "停工留薪": "injury",
    "unpaid": "unpaid", "事假": "unpaid", "无薪假": "unpaid",
    "other_paid": "other_paid", "其他带薪假": "other_paid",
}
CALENDAR_DAY_KINDS = ("maternity", "paternity", "marriage", "bereavement")   # leave_days counts 天
LEAVE_COLUMNS = ("employee_id", "kind", "start", "end", "note")
INSERT_LEAVE = """
INSERT OR REPLACE INTO leave (employee_id, kind, start_date, end_date, note)
SELECT employee_id, kind, CAST(start AS DATE), CAST("end" AS DATE), NULLIF(note, '') FROM _import_leave"""


def validate_leave(table: RawTable, con: duckdb.DuckDBPyConnection, policy: Policy, known_ids: pd.Index | None,
                   employee_rows: pd.DataFrame | None, event_rows: pd.DataFrame | None
                   ) -> tuple[pd.DataFrame, list[CellProblem]]:
    log = ProblemLog(table)
    cells = table.frame
    require_known_employee(log, cells["employee_id"], known_ids)
    kind = parse_choice(log, cells["kind"], "kind", LEAVE_KINDS, required=True)
    start = parse_dates(log, cells["start"], "start", required=True)
    end = parse_dates(log, cells["end"], "end", required=True)
    log.flag((end < start).fillna(False), "end", "'{}' is before start {}", cells["end"], cells["start"])
    usable = kind.notna() & start.notna() & end.notna() & (end >= start)
    frame = pd.DataFrame({"employee_id": cells["employee_id"], "kind": kind, "start": start, "end": end,
                          "row": table.row_numbers}).loc[usable]
    people = _people(con, employee_rows)
    _check_employment(log, frame, people)
    _check_overlaps(log, con, frame)
    _check_injury(log, con, frame, event_rows)
    _check_table_days(log, policy, frame, people)
    _check_annual_balance(log, con, policy, frame, people)
    rows = cells.assign(kind=kind.fillna(""))
    return rows[list(LEAVE_COLUMNS)], log.problems()


def write_leave(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> tuple[int, int]:
    """Upsert the records; (rows, new)."""
    con.register("_import_leave", rows)
    try:
        existing = con.execute("SELECT count(*) FROM _import_leave i JOIN leave l ON l.employee_id = i.employee_id "
                               "AND l.start_date = CAST(i.start AS DATE)").fetchall()[0][0]
        con.execute(INSERT_LEAVE)
    finally:
        con.unregister("_import_leave")
    return len(rows), len(rows) - int(existing)


# ---------------------------------------------------------------- checks


def _people(con, employee_rows: pd.DataFrame | None) -> pd.DataFrame:
    """employee_id -> region, hire and leave dates, service start: this import's records over the stored."""
    stored = con.execute("SELECT employee_id, region_code, hire_date, leave_date, "
                         "coalesce(service_start, hire_date) AS service_start FROM employees").df()
    if employee_rows is not None and not employee_rows.empty:
        fresh = pd.DataFrame({
            "employee_id": employee_rows["employee_id"].astype(str), "region_code": employee_rows["region_code"],
            "hire_date": pd.to_datetime(employee_rows["hire_date"], errors="coerce"),
            "leave_date": pd.to_datetime(employee_rows["leave_date"].replace("", None), errors="coerce"),
            "service_start": pd.to_datetime(employee_rows["service_start"].replace("", None), errors="coerce")})
        fresh["service_start"] = fresh["service_start"].fillna(fresh["hire_date"])
        stored = pd.concat([stored[~stored.employee_id.isin(fresh.employee_id)], fresh])
    for column in ("hire_date", "leave_date", "service_start"):
        stored[column] = pd.to_datetime(stored[column])
    return stored.set_index("employee_id")


def _flag_rows(log: ProblemLog, frame: pd.DataFrame, bad_index, column: str, reasons: dict) -> None:
    """Flag the file rows of `bad_index` (frame index) in `column`, each with its reason."""
    for index in bad_index:
        mask = pd.Series(False, index=log.table.frame.index)
        mask.loc[index] = True
        log.flag(mask, column, reasons[index])


def _check_employment(log: ProblemLog, frame: pd.DataFrame, people: pd.DataFrame) -> None:
    joined = frame.join(people[["hire_date", "leave_date"]], on="employee_id")
    before = joined.start < joined.hire_date
    after = joined.leave_date.notna() & (joined.end > joined.leave_date)
    reasons = {}
    for index, row in joined[before].iterrows():
        reasons[index] = f"leave starts before the hire date {row.hire_date.date()}: leave is only within employment"
    _flag_rows(log, frame, joined[before].index, "start", reasons)
    reasons = {index: f"leave ends after the leave date {row.leave_date.date()}: leave is only within employment"
               for index, row in joined[after].iterrows()}
    _flag_rows(log, frame, joined[after].index, "end", reasons)


def _check_overlaps(log: ProblemLog, con, frame: pd.DataFrame) -> None:
    stored = con.execute("SELECT employee_id, start_date AS start, end_date AS \"end\", kind FROM leave").df()
    if not stored.empty:
        stored["start"], stored["end"] = pd.to_datetime(stored["start"]), pd.to_datetime(stored["end"])
        # a stored record with the same person and start is replaced by the file's: not an overlap
        replaced = stored.set_index(["employee_id", "start"]).index.isin(
            frame.set_index(["employee_id", "start"]).index)
        stored = stored[~replaced]
    reasons = {}
    for employee_id, mine in frame.groupby("employee_id"):
        theirs = stored[stored.employee_id == employee_id] if not stored.empty else stored
        ordered = mine.sort_values("start")
        previous_end, previous_row = None, None
        for index, row in ordered.iterrows():
            if previous_end is not None and row.start <= previous_end:
                reasons[index] = f"overlaps the leave in row {previous_row} of this file"
            if previous_end is None or row.end > previous_end:
                previous_end, previous_row = row.end, row.row
            if not theirs.empty:
                clash = theirs[(theirs.start <= row.end) & (theirs.end >= row.start)]
                if not clash.empty:
                    other = clash.iloc[0]
                    reasons[index] = (f"overlaps the stored {other.kind} leave {other.start.date()} … "
                                      f"{other['end'].date()}")
    _flag_rows(log, frame, list(reasons), "start", reasons)


def _check_injury(log: ProblemLog, con, frame: pd.DataFrame, event_rows: pd.DataFrame | None) -> None:
    """工伤停工留薪 is recorded once, as an injury event: a leave of kind injury must match one."""
    injury = frame[frame.kind == "injury"]
    if injury.empty:
        return
    events = con.execute("SELECT employee_id, event_date FROM events WHERE kind = 'injury'").df()
    if event_rows is not None and not event_rows.empty:
        mine = event_rows[event_rows.kind == "injury"][["employee_id", "event_date"]]
        events = pd.concat([events, mine])
    events["event_date"] = pd.to_datetime(events["event_date"], errors="coerce")
    reasons = {}
    for index, row in injury.iterrows():
        if not ((events.employee_id == row.employee_id) & (events.event_date <= row.start)).any():
            reasons[index] = ("no work-injury event on or before the start: the 停工留薪期 is recorded in the "
                              "events file (kind injury, stoppage_months), the one source of truth")
    _flag_rows(log, frame, list(reasons), "kind", reasons)


def _region_days(look, region: str, kind: str, day: date) -> int | None:
    row = look.regional("leave_days", region, day, kind=kind)
    return None if row is None else int(row.days)


def _check_table_days(log: ProblemLog, policy: Policy, frame: pd.DataFrame, people: pd.DataFrame) -> None:
    from ..benefits import Lookup
    look = Lookup(policy)          # the rows in force as the engine reads them (one connection)
    reasons = {}
    for index, row in frame[frame.kind.isin(CALENDAR_DAY_KINDS)].iterrows():
        if row.employee_id not in people.index:
            continue
        region = people.loc[row.employee_id, "region_code"]
        allowed = _region_days(look, region, row.kind, row.start.date())
        taken = (row.end - row.start).days + 1
        if allowed is None:
            reasons[index] = (f"figure missing: leave_days has no {row.kind} row in force for region {region} on "
                              f"{row.start.date()}: add the region's days with their source")
        elif taken > allowed:
            reasons[index] = (f"{taken} calendar days of {row.kind} leave; the region allows {allowed} "
                              f"(leave_days.csv)")
    _flag_rows(log, frame, list(reasons), "end", reasons)


def working_days(first: date, last: date) -> int:
    total = 0
    for year in range(first.year, last.year + 1):
        total += sum(1 for day, kind in year_days(year) if first <= day <= last and kind == WORKDAY)
    return total


def entitlement(policy: Policy, years: int, day: date) -> int:
    table = policy.frames["annual_leave_entitlement"]
    rows = table[(table.min_service_years <= years) & (table.effective_from <= day)]
    if rows.empty:
        return 0
    return int(rows.sort_values(["effective_from", "min_service_years"]).iloc[-1].days)


def _completed_years(start: date, on: date) -> int:
    return max(0, on.year - start.year - ((on.month, on.day) < (start.month, start.day)))


def _check_annual_balance(log: ProblemLog, con, policy: Policy, frame: pd.DataFrame, people: pd.DataFrame) -> None:
    annual = frame[frame.kind == "annual"]
    if annual.empty:
        return
    stored = con.execute("SELECT employee_id, start_date AS start, end_date AS \"end\" FROM leave "
                         "WHERE kind = 'annual'").df()
    stored["start"], stored["end"] = pd.to_datetime(stored["start"]), pd.to_datetime(stored["end"])
    stored = stored[~stored.set_index(["employee_id", "start"]).index.isin(
        annual.set_index(["employee_id", "start"]).index)] if not stored.empty else stored
    reasons = {}
    for employee_id, mine in annual.groupby("employee_id"):
        if employee_id not in people.index:
            continue
        person = people.loc[employee_id]
        others = stored[stored.employee_id == employee_id] if not stored.empty else stored
        used_by_year: dict[int, int] = {}
        for _, row in others.iterrows():
            try:
                for year in range(row.start.year, row["end"].year + 1):
                    first, last = max(row.start.date(), date(year, 1, 1)), min(row["end"].date(), date(year, 12, 31))
                    used_by_year[year] = used_by_year.get(year, 0) + working_days(first, last)
            except CalendarError:
                continue
        for index, row in mine.sort_values("start").iterrows():
            for year in range(row.start.year, row.end.year + 1):
                first, last = max(row.start.date(), date(year, 1, 1)), min(row.end.date(), date(year, 12, 31))
                try:
                    days = working_days(first, last)
                except CalendarError as error:
                    reasons[index] = str(error)
                    break
                year_end = date(year, 12, 31)
                if pd.notna(person.leave_date) and person.leave_date.date() < year_end:
                    year_end = person.leave_date.date()
                allowed = entitlement(policy, _completed_years(person.service_start.date(), year_end), year_end)
                hired = person.hire_date.date()
                if hired > date(year, 1, 1):     # 实施办法 art. 5: a hire's year, ⌊remaining days ÷ 365 × days⌋
                    allowed = ((date(year, 12, 31) - hired).days + 1) * allowed // 365
                used_by_year[year] = used_by_year.get(year, 0) + days
                if used_by_year[year] > allowed:
                    reasons[index] = (f"annual leave beyond the balance: {used_by_year[year]} working days in {year}, "
                                      f"entitlement {allowed} (职工带薪年休假条例 art. 3; 实施办法 art. 5 for a hire's "
                                      f"first year; annual_leave_entitlement.csv)")
    _flag_rows(log, frame, list(reasons), "end", reasons)
