"""The scenario file: TOML (stdlib tomllib), validated with pydantic; the format is scenarios/README.md.

Every problem is reported as `file: key.path: reason` (ScenarioError, a PayrollError: exit 2).
Numbers are read as Decimal (tomllib parse_float), so `scale = 1.05` is exactly 1.05.
"""
from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import PayrollError
from ..policy import TABLES

# tables a scenario may change: the ones the monthly run reads by region/date or by name
CHANGEABLE_TABLES = ("average_wage", "minimum_wage", "social_insurance", "housing_fund", "pay_scale",
                     "allowances", "accident_insurance", "pay_floor", "national_parameters", "posts",
                     # issue 16: the level rules, the assumed results and what results pay
                     "level_rules", "appraisal_distribution", "performance_pay", "selection_quotas",
                     "pay_scale_ratios", "pay_structure")
# columns that identify a row or document it: never changed by a scenario
FIXED_COLUMNS = {"region_code", "effective_from", "source", "row_no", "status"}
CATEGORIES = ("duty", "civilian")


class ScenarioError(PayrollError):
    """A scenario file that cannot be used: names the file, the key path and the reason."""

    def __init__(self, file: str | Path, path: str, reason: str):
        self.file, self.path, self.reason = str(file), path, reason
        super().__init__(f"{file}: {path}: {reason}" if path else f"{file}: {reason}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value):
    if value is None or isinstance(value, list):
        return value
    return [value]


Scalar = Union[int, str]


class TableChange(_Strict):
    """From `effective` on, `column` of the matching rows of `table` is scaled, set or increased."""

    table: Literal[CHANGEABLE_TABLES]  # type: ignore[valid-type]
    column: str
    scale: Decimal | None = Field(None, ge=0)
    set: Decimal | str | None = None
    add: Decimal | None = None
    effective: date | None = None
    region: list[str] | None = None
    category: list[str] | None = None
    level: list[int] | None = None
    post: list[str] | None = None
    where: dict[str, list[Scalar]] = Field(default_factory=dict)
    note: str = ""

    _lists = field_validator("region", "category", "level", "post", mode="before")(_as_list)

    @field_validator("where", mode="before")
    @classmethod
    def _where_lists(cls, value):
        if isinstance(value, dict):
            return {key: _as_list(item) for key, item in value.items()}
        return value

    @model_validator(mode="after")
    def _check(self) -> "TableChange":
        ops = [op for op in ("scale", "set", "add") if getattr(self, op) is not None]
        if len(ops) != 1:
            raise ValueError("give exactly one of scale, set, add")
        columns = {c.name: c for c in TABLES[self.table]}
        if self.column not in columns or self.column in FIXED_COLUMNS:
            editable = [c for c in columns if c not in FIXED_COLUMNS]
            raise ValueError(f"column {self.column!r} cannot be changed in {self.table}; "
                             f"one of: {', '.join(editable)}")
        kind = columns[self.column].kind
        if ops[0] in ("scale", "add") and kind not in ("money", "rate", "int"):
            raise ValueError(f"{ops[0]} needs a number column; {self.column} is {kind}")
        if ops[0] == "set" and kind in ("money", "rate", "int") and isinstance(self.set, str):
            raise ValueError(f"set needs a number for {self.column}")
        if ops[0] == "set" and kind == "enum" and self.set not in columns[self.column].choices:
            raise ValueError(f"set {self.set!r} is not one of {', '.join(columns[self.column].choices)}")
        for name in [*self.filters()]:
            target = "region_code" if name == "region" else name
            if target not in columns:
                raise ValueError(f"{self.table} has no column {target!r} to filter on")
        if self.effective is not None and "effective_from" not in columns:
            raise ValueError(f"{self.table} has no effective_from: its changes hold for the whole "
                             "projection; leave out `effective`")
        return self

    @property
    def operation(self) -> str:
        return next(op for op in ("scale", "set", "add") if getattr(self, op) is not None)

    def filters(self) -> dict[str, list]:
        """Column filters other than region: name -> accepted values."""
        found = {name: getattr(self, name) for name in ("category", "level", "post")
                 if getattr(self, name) is not None}
        found.update(self.where)
        if self.region is not None:
            found["region"] = self.region
        return found


class Hire(_Strict):
    """`count` new staff in each of `months`, hired on `day` of the month."""

    month: list[str]
    count: int = Field(gt=0)
    region: str
    category: Literal["duty", "civilian"]
    level: int
    post: str | None = None
    unit: str | None = None
    day: int = Field(1, ge=1, le=28)

    _months = field_validator("month", mode="before")(_as_list)

    @field_validator("month")
    @classmethod
    def _months_valid(cls, months: list[str]) -> list[str]:
        for month in months:
            try:
                year, number = month.split("-")
                date(int(year), int(number), 1)
                if len(month) != 7:
                    raise ValueError
            except ValueError:
                raise ValueError(f"{month!r} is not a month YYYY-MM") from None
        return months


class Promotion(_Strict):
    """One level up (toward `top_level`) in the month of every `every_years`-th service anniversary."""

    every_years: int = Field(gt=0)
    top_level: int = Field(1, ge=1)


class Levels(_Strict):
    """Promotion and demotion by `level_rules`, results drawn from `appraisal_distribution` (issue 16)."""

    seed: int = 0
    baseline: bool = True       # the baseline follows the same rules with its own tables


class Roster(_Strict):
    hires: list[Hire] = Field(default_factory=list)
    attrition_rate: Decimal = Field(Decimal(0), ge=0, lt=1)   # share of the staff leaving a year
    attrition_seed: int = 0
    promotion: Promotion | None = None
    levels: Levels | None = None


class Overtime(_Strict):
    workday: Decimal = Field(Decimal(0), ge=0)
    restday: Decimal = Field(Decimal(0), ge=0)
    holiday: Decimal = Field(Decimal(0), ge=0)
    night_shifts: int = Field(0, ge=0)


class AnnualBonus(_Strict):
    """Issue 13: a 全年一次性奖金 assumed for everyone employed in `month` of each projected year (or the
    listed regions and categories): a fixed `amount`, or `multiple` × the person's gross pay of the
    month before; taxed apart, merged, or (empty) the cheaper (payroll/rules/one_off.py)."""

    month: int = Field(12, ge=1, le=12)
    amount: Decimal | None = Field(None, gt=0)
    multiple: Decimal | None = Field(None, gt=0)
    region: list[str] | None = None
    category: list[Literal["duty", "civilian"]] | None = None
    tax_method: Literal["separate", "merged", ""] = ""

    _lists = field_validator("region", "category", mode="before")(_as_list)

    @model_validator(mode="after")
    def _one_amount(self) -> "AnnualBonus":
        if (self.amount is None) == (self.multiple is None):
            raise ValueError("give exactly one of amount, multiple")
        return self


class Assumptions(_Strict):
    overtime_hours: dict[Literal["duty", "civilian"], Overtime] = Field(default_factory=dict)
    annual_bonus: list[AnnualBonus] = Field(default_factory=list)


class Solver(_Strict):
    """Find the smallest uniform raise of `component` that meets the average-wage floor."""

    component: str = "base_pay"         # base_pay (the pay scale) or an allowance item
    regions: list[str] | None = None     # default: the regions whose floor fails in the scenario
    step: Decimal = Field(Decimal("0.1"), gt=0, le=1)    # percentage points
    max_raise: Decimal = Field(Decimal(100), gt=0)       # percent
    effective: date | None = None

    _lists = field_validator("regions", mode="before")(_as_list)


class Scenario(_Strict):
    name: str
    description: str = ""
    change: list[TableChange] = Field(default_factory=list)
    roster: Roster = Field(default_factory=Roster)
    assumptions: Assumptions = Field(default_factory=Assumptions)
    solver: Solver | None = None

    def is_empty(self) -> bool:
        roster = self.roster
        return not (self.change or roster.hires or roster.attrition_rate or roster.promotion
                    or roster.levels or self.solver)


def key_path(loc: tuple) -> str:
    """('change', 2, 'scale') -> 'change[2].scale': the third [[change]] block (0-based)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith(("function-", "literal[", "union[", "list[", "decimal", "str", "int",
                              "date")) or part in ("function-after", "function-before"):
            continue
        else:
            text += ("." if text else "") + part
    return text


def parse_scenario(text: str, file: str | Path = "<scenario>") -> Scenario:
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(file, "", f"not valid TOML: {error}") from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if len(error.errors()) > 1:
            others = "; ".join(f"{key_path(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                               for e in error.errors()[1:5])
            message += f" (also: {others})"
        raise ScenarioError(file, key_path(first["loc"]), message) from None


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except UnicodeDecodeError:
        raise ScenarioError(path, "", "not UTF-8 text") from None
    return parse_scenario(text, path)
