"""A deterministic synthetic roster: employees and a year of attendance for the five sample places.

`synth_roster(people, seed, regions, year)` returns two DataFrames in the SPEC input layout, ready to
be written as CSV (`df.to_csv(path, index=False)`) and imported, or stored directly with
`write_roster`. Everything is drawn from one `numpy.random.Generator(PCG64(seed))`, column by column
(vectorised: a million people take a few seconds), so the same arguments give the same frames.

employees: every column is text as an input file holds it (dates `YYYY-MM-DD`, money in yuan, ""
for an empty optional cell), except `level` (int). The full resident ID number is generated with a
valid GB 11643 check digit; `write_roster` stores only the masked form.

attendance: one row for about 80 % of the months each person is employed in `year`; `employee_id`
and `month` are categoricals (cheap at ten million rows, written as plain text by `to_csv`), hours and
days are multiples of 0.5, money is whole yuan.

The shape of the roster (no real data behind it): places weighted by city size; 10–20 units a
city ("XX市公安局XX分局", county bureaus, 派出所, traffic and SWAT detachments, the detention house,
the command centre); ~70 % duty (勤务) and ~30 % civilian (文职) staff with posts that fit the
category and the unit (post codes of tables/posts.csv); grade levels 1–7 (7 = entry) following
counted service, so most people sit on 4–7; hire dates over the 20 years before `year` with more
recent hires, ~3 % hired inside `year` and ~3 % leaving inside it (mid-month dates), ~12 % with prior
service counted (service_start before hire_date); ~60 % declaring special additional deductions,
~20 % a contribution base.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .db import ATTENDANCE_DDL, EMPLOYEES_DDL, transaction
from .io.idnumber import CHECK_CHARS, WEIGHTS, mask_id_sql

DEFAULT_SEED = 2025

# GB 11643-1999: check digit of the 18-character resident identity number
ID_WEIGHTS = np.array(WEIGHTS, dtype=np.int64)

DUTY, CIVILIAN = "duty", "civilian"
POSTS = ("PATROL", "COMMUNITY", "TRAFFIC", "ESCORT", "SWAT", "RECEPTION", "PERMITS", "TECH")
DUTY_SHARE = 0.70

# unit kinds and, per kind and category, the chance of each post (order of POSTS)
BRANCH, STATION, TRAFFIC, SWAT, CUSTODY, COMMAND = range(6)
UNIT_KIND_WEIGHT = {BRANCH: 1.0, STATION: 0.3, TRAFFIC: 1.2, SWAT: 0.5, CUSTODY: 0.4, COMMAND: 0.4}
POST_CHANCES = {
    #            PATROL COMMUN TRAFFIC ESCORT SWAT  RECEPT PERMITS TECH
    (BRANCH, DUTY):      (.50, .35, .10, .05, 0, 0, 0, 0),
    (STATION, DUTY):     (.45, .50, .05, 0, 0, 0, 0, 0),
    (TRAFFIC, DUTY):     (.10, 0, .90, 0, 0, 0, 0, 0),
    (SWAT, DUTY):        (.20, 0, 0, 0, .80, 0, 0, 0),
    (CUSTODY, DUTY):     (.10, 0, 0, .90, 0, 0, 0, 0),
    (COMMAND, DUTY):     (.60, .40, 0, 0, 0, 0, 0, 0),
    (BRANCH, CIVILIAN):  (0, 0, 0, 0, 0, .40, .45, .15),
    (STATION, CIVILIAN): (0, 0, 0, 0, 0, .45, .50, .05),
    (TRAFFIC, CIVILIAN): (0, 0, 0, 0, 0, .30, .50, .20),
    (SWAT, CIVILIAN):    (0, 0, 0, 0, 0, .30, 0, .70),
    (CUSTODY, CIVILIAN): (0, 0, 0, 0, 0, .60, 0, .40),
    (COMMAND, CIVILIAN): (0, 0, 0, 0, 0, .60, 0, .40),
}


@dataclass(frozen=True)
class City:
    name: str
    population: float                     # millions, the weight of the place in the roster
    districts: tuple[str, ...]            # 区 get a 分局 of the city bureau, 县/旗/市 their own 公安局
    stations: tuple[tuple[str, str], ...]  # (district, 派出所 name)


CITIES: dict[str, City] = {
    "150100": City("呼和浩特市", 3.5,
                   ("新城区", "回民区", "玉泉区", "赛罕区", "土默特左旗", "托克托县", "和林格尔县",
                    "清水河县", "武川县"),
                   (("新城区", "海拉尔东路"), ("赛罕区", "大学路"))),
    "150600": City("鄂尔多斯市", 2.2,
                   ("东胜区", "康巴什区", "达拉特旗", "准格尔旗", "鄂托克前旗", "鄂托克旗", "杭锦旗",
                    "乌审旗", "伊金霍洛旗"),
                   (("东胜区", "林荫路"), ("康巴什区", "青春山"))),
    "330100": City("杭州市", 12.5,
                   ("上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区",
                    "富阳区", "临安区", "桐庐县", "淳安县", "建德市"),
                   (("上城区", "湖滨"), ("西湖区", "灵隐"))),
    "530100": City("昆明市", 8.6,
                   ("五华区", "盘龙区", "官渡区", "西山区", "呈贡区", "晋宁区", "东川区", "安宁市",
                    "宜良县", "嵩明县"),
                   (("五华区", "翠湖"), ("官渡区", "关上"))),
    "320600": City("南通市", 7.7,
                   ("崇川区", "通州区", "海门区", "如东县", "启东市", "如皋市", "海安市"),
                   (("崇川区", "城东"), ("通州区", "金沙"))),
}

SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
# rough frequencies: the big five surnames are each about 7 % of the population
_SURNAME_WEIGHTS = np.array([7.3, 7.2, 7.0, 5.4, 4.5] + [2.0] * 10 + [1.0] * (len(SURNAMES) - 15))
GIVEN_MALE = tuple("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林峰建文志国东海亮晨阳博远")
GIVEN_FEMALE = tuple("芳娜敏静丽艳娟霞秀英玲婷雪琳洁慧倩颖佳欣怡梦蕾琪萍红燕桂兰晶媛璐瑶楠")
MALE_SHARE = 0.8

SPECIAL_DEDUCTIONS = np.array([400, 800, 1000, 1100, 1500, 2000, 2500, 3000, 3500, 4000, 5000])
_SPECIAL_WEIGHTS = np.array([3, 3, 12, 4, 12, 20, 5, 18, 6, 10, 7], dtype=float)

ATTENDANCE_COLUMNS = ("employee_id", "month", "unpaid_leave_days", "overtime_workday_hours",
                      "overtime_restday_hours", "overtime_holiday_hours", "night_shifts", "bonus",
                      "deduction")
EMPLOYEE_COLUMNS = ("employee_id", "name", "id_number", "region_code", "unit", "category", "level",
                    "post", "hire_date", "leave_date", "service_start", "special_deduction",
                    "contribution_base")

_DAYS_18_YEARS = 6576   # 18 × 365.25 rounded up, plus a day


def city_units(region_code: str) -> list[tuple[str, int]]:
    """The units of a city as (name, kind)."""
    city = CITIES[region_code]
    bureau = f"{city.name}公安局"
    units = []
    for district in city.districts:
        name = f"{bureau}{district}分局" if district.endswith("区") else f"{district}公安局"
        units.append((name, BRANCH))
    for district, station in city.stations:
        units.append((f"{bureau}{district}分局{station}派出所", STATION))
    units += [(f"{bureau}交通警察支队", TRAFFIC), (f"{bureau}特警支队", SWAT),
              (f"{city.name}看守所", CUSTODY), (f"{bureau}指挥中心", COMMAND)]
    return units


# ----------------------------------------------------------------------------- vector helpers

def _ascii_digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 ASCII digits of non-negative integers, zero padded."""
    values = np.asarray(values, dtype=np.int64)
    out = np.empty((len(values), width), dtype=np.uint8)
    for position in range(width):
        out[:, width - 1 - position] = values // 10 ** position % 10
    out += ord("0")
    return out


def _text(values: np.ndarray) -> pd.Series:
    """A pandas text column (str dtype, Arrow storage) from an (n, w) uint8 ASCII matrix, a numpy
    unicode array, or datetime64[D] dates ('YYYY-MM-DD', NaT as "")."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if values.dtype == np.uint8:
        matrix = np.ascontiguousarray(values)
        array = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(matrix.shape[1]), len(matrix), [None, pa.py_buffer(matrix)])
        array = array.cast(pa.binary()).cast(pa.string())
    elif np.issubdtype(values.dtype, np.datetime64):
        array = pc.fill_null(pa.array(values.astype("datetime64[D]")).cast(pa.string()), "")
    else:
        array = pa.array(values, type=pa.string())
    return pd.Series(array, dtype="str")


def _month_start(year: int, month0: np.ndarray) -> np.ndarray:
    return (np.datetime64(f"{year}-01", "M") + month0).astype("datetime64[D]")


def _statutory_days_by_month(year: int) -> np.ndarray:
    """Statutory holiday days in each month of `year` (official calendar; a common pattern when the
    installed calendar does not know the year)."""
    try:
        from .calendar import STATUTORY, year_days
        counts = np.zeros(12, dtype=np.int64)
        for day, kind in year_days(year):
            if kind == STATUTORY:
                counts[day.month - 1] += 1
        return counts
    except Exception:   # no published calendar for that year: New Year, Spring Festival, …
        return np.array([1, 3, 0, 1, 2, 1, 0, 0, 1, 3, 0, 0], dtype=np.int64)


def _choose(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    cumulative = np.cumsum(np.asarray(weights, dtype=float))
    cumulative /= cumulative[-1]
    index = np.searchsorted(cumulative, rng.random(n), side="right")
    return np.minimum(index, len(cumulative) - 1)


# ---------------------------------------------------------------------------------- generator

def synth_roster(people: int, seed: int = DEFAULT_SEED, regions: list[str] | None = None,
                 year: int = 2025) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(employees, attendance) of a synthetic roster of `people` persons paid in `year`."""
    if people < 0:
        raise ValueError("people must be >= 0")
    regions = list(regions) if regions else list(CITIES)
    unknown = [r for r in regions if r not in CITIES]
    if unknown:
        raise ValueError(f"no synthetic units for region(s) {', '.join(unknown)}; "
                         f"known: {', '.join(CITIES)}")
    rng = np.random.default_rng(seed)
    n = int(people)

    # places and units
    region_index = _choose(rng, n, [CITIES[r].population for r in regions])
    unit_names: list[str] = []
    unit_kinds: list[int] = []
    unit_of = np.zeros(n, dtype=np.int64)
    draw = rng.random(n)
    for index, code in enumerate(regions):
        units = city_units(code)
        cumulative = np.cumsum([UNIT_KIND_WEIGHT[kind] for _, kind in units])
        cumulative /= cumulative[-1]
        mask = region_index == index
        local = np.minimum(np.searchsorted(cumulative, draw[mask], side="right"), len(units) - 1)
        unit_of[mask] = len(unit_names) + local
        unit_names += [name for name, _ in units]
        unit_kinds += [kind for _, kind in units]
    unit_kind = np.asarray(unit_kinds, dtype=np.int64)[unit_of]

    # category and post
    duty = rng.random(n) < DUTY_SHARE
    post = np.zeros(n, dtype=np.int64)
    draw = rng.random(n)
    for (kind, category), chances in POST_CHANCES.items():
        mask = (unit_kind == kind) & (duty == (category == DUTY))
        cumulative = np.cumsum(chances) / np.sum(chances)
        post[mask] = np.minimum(np.searchsorted(cumulative, draw[mask], side="right"), len(POSTS) - 1)

    # hire and leave dates
    year_start = np.datetime64(f"{year}-01-01", "D")
    new_hire = rng.random(n) < 0.03
    years_back = 1 + _choose(rng, n, np.exp(-np.arange(20) / 9.0))         # 1..20
    hire_year_start = (np.datetime64(f"{year}", "Y") - years_back).astype("datetime64[D]")
    hire = hire_year_start + rng.integers(0, 365, n)
    hire_month = rng.integers(0, 12, n)
    hire_in_year = _month_start(year, hire_month) + rng.integers(7, 22, n)   # 8th–22nd
    hire = np.where(new_hire, hire_in_year, hire)
    leaver = ~new_hire & (rng.random(n) < 0.03)
    leave_in_year = _month_start(year, rng.integers(0, 12, n)) + rng.integers(4, 25, n)  # 5th–25th
    leave = np.where(leaver, leave_in_year, np.datetime64("NaT", "D"))

    # birth: age 22–55 at the start of the year, at least 18 when hired
    birth_low = np.datetime64(f"{year - 55}-01-01", "D")
    birth_high = np.minimum(np.datetime64(f"{year - 22}-12-31", "D"),
                            hire - np.timedelta64(_DAYS_18_YEARS, "D"))
    span = (birth_high - birth_low).astype(np.int64) + 1
    birth = birth_low + (rng.random(n) * span).astype(np.int64)

    # prior service counted from an earlier date
    prior = rng.random(n) < 0.12
    service_start = hire - rng.integers(365, 6 * 365, n)
    service_start = np.maximum(service_start, birth + np.timedelta64(_DAYS_18_YEARS, "D"))
    service_start = np.where(prior & (service_start < hire), service_start, np.datetime64("NaT", "D"))

    # grade level: 7 at entry, roughly one level up every 3–4 years of counted service
    counted_from = np.where(np.isnat(service_start), hire, service_start)
    service_years = np.maximum((year_start - counted_from).astype(np.int64), 0) / 365.25
    steps = np.floor((service_years + rng.normal(0.0, 1.5, n)) / 3.5)
    level = (7 - np.clip(steps, 0, 6)).astype(np.int64)

    # declarations
    special = np.where(rng.random(n) < 0.60,
                       SPECIAL_DEDUCTIONS[_choose(rng, n, _SPECIAL_WEIGHTS)], 0)
    declared_base = np.where(rng.random(n) < 0.20, rng.integers(50, 121, n) * 100, 0)

    # resident ID: birthplace code (mostly the city), birth date, sequence, gender, check digit
    male = rng.random(n) < MALE_SHARE
    all_codes = np.array([int(code[:4]) for code in CITIES], dtype=np.int64)
    home = np.array([int(code[:4]) for code in regions], dtype=np.int64)[region_index]
    elsewhere = rng.random(n) < 0.15
    prefix4 = np.where(elsewhere, all_codes[rng.integers(0, len(all_codes), n)], home)
    area = prefix4 * 100 + rng.integers(2, 10, n)
    birth_ymd = _ymd(birth)
    gender_digit = rng.integers(0, 5, n) * 2 + male.astype(np.int64)    # odd = male
    tens = rng.integers(0, 100, n)
    gender_digit = np.where((tens == 0) & (gender_digit == 0), 2, gender_digit)
    digits = np.concatenate([_ascii_digits(area, 6), _ascii_digits(birth_ymd, 8),
                             _ascii_digits(tens * 10 + gender_digit, 3)], axis=1)
    remainder = ((digits.astype(np.int64) - ord("0")) @ ID_WEIGHTS) % 11
    check = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[remainder]
    id_number = np.concatenate([digits, check[:, None]], axis=1)

    # names
    surname = np.asarray(SURNAMES)[_choose(rng, n, _SURNAME_WEIGHTS)]
    given_m = np.asarray(GIVEN_MALE)
    given_f = np.asarray(GIVEN_FEMALE)
    first = np.where(male, given_m[rng.integers(0, len(given_m), n)],
                     given_f[rng.integers(0, len(given_f), n)])
    second = np.where(male, given_m[rng.integers(0, len(given_m), n)],
                      given_f[rng.integers(0, len(given_f), n)])
    second = np.where(rng.random(n) < 0.7, second, "")
    name = np.strings.add(np.strings.add(surname, first), second)

    # employee numbers follow the hire order
    order = np.argsort(hire, kind="stable")
    width = max(6, len(str(n)))
    employee_id = np.concatenate([np.full((n, 2), [ord("F"), ord("J")], dtype=np.uint8),
                                  _ascii_digits(np.arange(1, n + 1), width)], axis=1)

    region_codes = np.asarray(regions)[region_index]
    special = special[order]
    declared_base = declared_base[order]
    employees = pd.DataFrame({
        "employee_id": _text(employee_id),
        "name": _text(name[order]),
        "id_number": _text(id_number[order]),
        "region_code": _text(region_codes[order]),
        "unit": _text(np.asarray(unit_names)[unit_of[order]]),
        "category": _text(np.where(duty[order], DUTY, CIVILIAN)),
        "level": level[order],
        "post": _text(np.asarray(POSTS)[post[order]]),
        "hire_date": _text(hire[order]),
        "leave_date": _text(leave[order]),
        "service_start": _text(service_start[order]),
        "special_deduction": _text(np.where(special > 0, special.astype(str), "")),
        "contribution_base": _text(np.where(declared_base > 0, declared_base.astype(str), "")),
    }, copy=False)

    attendance = _attendance(rng, year, employees["employee_id"], hire[order], leave[order],
                             duty[order])
    return employees, attendance


def _ymd(days: np.ndarray) -> np.ndarray:
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return years * 10000 + months * 100 + dom


def _attendance(rng: np.random.Generator, year: int, employee_ids: pd.Series, hire: np.ndarray,
                leave: np.ndarray, duty: np.ndarray) -> pd.DataFrame:
    n = len(employee_ids)
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    year_start = np.datetime64(f"{year}-01-01", "D")
    hire_month = (hire.astype("datetime64[M]") - np.datetime64(f"{year}-01", "M")).astype(np.int64)
    first = np.clip(hire_month, 0, 12)
    leave_month = np.where(np.isnat(leave), 11,
                           (leave.astype("datetime64[M]") - np.datetime64(f"{year}-01", "M"))
                           .astype(np.int64))
    last = np.where(~np.isnat(leave) & (leave < year_start), -1, np.clip(leave_month, -1, 11))
    month_index = np.arange(12)
    employed = (month_index >= first[:, None]) & (month_index <= last[:, None])
    present = employed & (rng.random((n, 12)) < 0.80)
    person, month = np.nonzero(present)
    rows = len(person)

    def halves(chance: float, max_hours) -> np.ndarray:
        """0 or, with the given chance, a multiple of 0.5 in 0.5..max_hours (one draw a row)."""
        high = np.asarray(max_hours, dtype=np.float64) * 2
        draw = rng.random(rows)
        values = (np.floor(draw / chance * high) + 1) / 2
        return np.where((draw < chance) & (high > 0), values, 0.0)

    statutory = _statutory_days_by_month(year)
    workday = halves(0.55, 20)
    restday = halves(0.35, 16)
    holiday = halves(0.30, np.minimum(24, 8 * statutory[month]))
    row_duty = duty[person]
    nights = np.where(row_duty & (rng.random(rows) < 0.60), rng.integers(1, 9, rows), 0)
    leave_days = halves(0.03, 5)
    year_end = (month == 0) | (month == 11)
    bonus = np.where(year_end & (rng.random(rows) < 0.08),
                     np.array([500, 1000, 2000, 3000, 5000])[rng.integers(0, 5, rows)], 0)
    deduction = np.where(rng.random(rows) < 0.02, rng.integers(1, 31, rows) * 10, 0)

    # copy=False: the arrays become the frame's columns as they are (no copy, no block stacking)
    frame = pd.DataFrame({
        "employee_id": pd.Categorical.from_codes(person, categories=pd.Index(employee_ids)),
        "month": pd.Categorical.from_codes(month, categories=months),
        "unpaid_leave_days": leave_days,
        "overtime_workday_hours": workday,
        "overtime_restday_hours": restday,
        "overtime_holiday_hours": holiday,
        "night_shifts": nights.astype(np.int64, copy=False),
        "bonus": bonus.astype(np.int64, copy=False),
        "deduction": deduction.astype(np.int64, copy=False),
    }, copy=False)
    return frame


# ------------------------------------------------------------------------------------ storing

def _arrow_table(frame: pd.DataFrame):
    import pyarrow as pa
    return pa.Table.from_pandas(frame, preserve_index=False)


def _is_text(arrow_type) -> bool:
    import pyarrow as pa
    return (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
            or pa.types.is_string_view(arrow_type) or pa.types.is_dictionary(arrow_type)
            or pa.types.is_null(arrow_type))


def _expressions(table, spec: dict[str, tuple[str, str | None]]) -> tuple[list[str], list[str]]:
    """Target columns and SELECT expressions for the columns of `spec` that the frame has (or that
    have a default): spec maps column -> (kind, default SQL or None)."""
    import pyarrow as pa
    targets, exprs = [], []
    fields = {f.name: f.type for f in table.schema}
    for column, (kind, default) in spec.items():
        source = column
        if column == "id_number_masked" and column not in fields and "id_number" in fields:
            source = "id_number"
        if source not in fields:
            if default is not None:
                targets.append(column)
                exprs.append(default)
            continue
        quoted = '"' + source.replace('"', '""') + '"'
        arrow_type = fields[source]
        text = f"NULLIF(TRIM(CAST({quoted} AS VARCHAR)), '')"
        if kind == "text":
            expr = text
        elif kind == "masked":
            expr = mask_id_sql(text)
        elif kind == "date":
            expr = (f"CAST({quoted} AS DATE)" if pa.types.is_temporal(arrow_type)
                    else f"CAST({text} AS DATE)")
        else:
            sql_type = {"money": "DECIMAL(18,2)", "days": "DECIMAL(8,2)", "int": "INTEGER"}[kind]
            expr = (f"CAST({text} AS {sql_type})" if _is_text(arrow_type)
                    else f"CAST({quoted} AS {sql_type})")
        if default is not None:
            expr = f"COALESCE({expr}, {default})"
        targets.append(column)
        exprs.append(expr)
    return targets, exprs


_EMPLOYEE_SPEC = {
    "employee_id": ("text", None), "name": ("text", None), "id_number_masked": ("masked", None),
    "region_code": ("text", None), "unit": ("text", None), "category": ("text", None),
    "level": ("int", None), "post": ("text", None), "hire_date": ("date", None),
    "leave_date": ("date", None), "service_start": ("date", None),
    "special_deduction": ("money", "0"), "contribution_base": ("money", None),
}
_ATTENDANCE_SPEC = {
    "employee_id": ("text", None), "month": ("text", None),
    "unpaid_leave_days": ("days", "0"), "overtime_workday_hours": ("days", "0"),
    "overtime_restday_hours": ("days", "0"), "overtime_holiday_hours": ("days", "0"),
    "night_shifts": ("int", "0"), "bonus": ("money", "0"), "deduction": ("money", "0"),
}


_TABLE_KEY = re.compile(r",\s*PRIMARY KEY\s*\(([^)]*)\)", re.IGNORECASE)


def _recreate(con, table: str, ddl: str) -> str | None:
    """Drop `table` and create it empty from its DDL, without a table-level PRIMARY KEY clause if
    it has one; return that key's columns, to be added once the rows are in (a bulk index build
    is about twice as fast as checking each inserted row)."""
    con.execute(f"DROP TABLE IF EXISTS {table}")
    match = _TABLE_KEY.search(ddl)
    if match is None:
        con.execute(ddl)
        return None
    con.execute(ddl[:match.start()] + ddl[match.end():])
    return match.group(1)


def write_roster(con, employees: pd.DataFrame, attendance: pd.DataFrame | None = None
                 ) -> tuple[int, int]:
    """Replace the employees and attendance tables with these frames, in one transaction.

    Frames in the layout of `synth_roster` (text or typed columns both work); the full ID number
    is never stored, only its masked form. Returns (employees, attendance rows) written."""
    employee_table = _arrow_table(employees)
    attendance_table = _arrow_table(attendance) if attendance is not None else None
    names = []
    try:
        with transaction(con):
            con.execute("DROP TABLE IF EXISTS attendance")
            keys = {"employees": _recreate(con, "employees", EMPLOYEES_DDL),
                    "attendance": _recreate(con, "attendance", ATTENDANCE_DDL)}
            con.register("_synth_employees", employee_table)
            names.append("_synth_employees")
            targets, exprs = _expressions(employee_table, _EMPLOYEE_SPEC)
            con.execute(f"INSERT INTO employees ({', '.join(targets)}) "
                        f"SELECT {', '.join(exprs)} FROM _synth_employees")
            if attendance_table is not None:
                con.register("_synth_attendance", attendance_table)
                names.append("_synth_attendance")
                targets, exprs = _expressions(attendance_table, _ATTENDANCE_SPEC)
                con.execute(f"INSERT INTO attendance ({', '.join(targets)}) "
                            f"SELECT {', '.join(exprs)} FROM _synth_attendance")
            for table, key in keys.items():
                if key:
                    con.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({key})")
    finally:
        for name in names:
            con.unregister(name)
    counts = con.execute("SELECT (SELECT count(*) FROM employees), "
                         "(SELECT count(*) FROM attendance)").fetchall()[0]
    return int(counts[0]), int(counts[1])


def write_roster_files(employees: pd.DataFrame, attendance: pd.DataFrame, out_dir
                       ) -> tuple[Path, Path]:
    """employees.csv and attendance.csv in `out_dir`, UTF-8 with the SPEC headers, ready for
    `payroll import`. Written by Arrow's CSV writer (a million people's year of attendance, nine
    million rows, in seconds), each through a temporary name so a failed run leaves no half file."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.csv as pacsv

    from .io.output import safe_output

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in (("employees", employees), ("attendance", attendance)):
        table = _arrow_table(frame)
        # categoricals (attendance employee_id, month) as plain text
        table = table.cast(pa.schema([pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type)
                                      else f for f in table.schema]))
        target = out / f"{name}.csv"
        with safe_output(target) as partial:         # only onto a regular file or a new path
            pacsv.write_csv(table, partial, pacsv.WriteOptions(quoting_style="needed"))
        paths.append(target)
    return paths[0], paths[1]


def synth_to(people: int, regions: list[str] | None, seed: int, year: int, db: str | None,
             out, replace: bool = False, progress=None) -> str:
    """`payroll synth`: make the roster, then store it in the database (masked IDs only) or write
    the two input files; returns a one-line summary. `progress` is a rich Progress, or None."""
    from .db import connect, resolve_db_path, scalar
    from .errors import PayrollError

    if people < 1:
        raise PayrollError(f"--people must be at least 1, not {people}")
    steps = progress.add_task("生成花名册 synthetic roster", total=2) if progress else None
    con = None
    if out is None:          # open (and check) the database before spending time on the roster
        con = connect(db)
        if not replace and scalar(con, "SELECT count(*) FROM employees"):
            con.close()
            raise PayrollError(f"{resolve_db_path(db)} already holds a roster; give --replace to replace "
                               f"it (its attendance and payslips go too), or another --db")
    try:
        employees, attendance = synth_roster(people, seed=seed, regions=regions, year=year)
    except ValueError as error:
        raise PayrollError(str(error)) from None
    if progress:
        progress.advance(steps)
    if out is not None:
        employees_path, attendance_path = write_roster_files(employees, attendance, out)
        where = f"{employees_path} and {attendance_path}"
    else:
        if replace:
            con.execute("DROP TABLE IF EXISTS payslips")
            con.execute("DELETE FROM leave; DELETE FROM employee_terms; DELETE FROM events")
        write_roster(con, employees, attendance)
        # issue 14: leave of every kind, probation for the year's hires, a few non-work deaths
        from .synth_life import synth_life_events, write_life_events
        write_life_events(con, *synth_life_events(employees, year, seed))
        con.close()
        where = resolve_db_path(db)
    if progress:
        progress.advance(steps)
    return (f"{len(employees):,} employees and {len(attendance):,} attendance rows of {year} "
            f"(seed {seed}) written to {where}")
