"""payroll simulate on the command line: bad scenario files (exit 2, file and key path, nothing
written), a run on the database's roster, the XLSX report with its native charts."""
from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from payroll.simulate.scenario import ScenarioError, parse_scenario

from conftest import ROSTER, project_first_months, run_payroll

BAD = [
    # (file text, key path the message must name, words of the reason)
    ('name = "x"\n[[change]]\ntable = "pay_scale"\ncolumn = "base_pay"\nscale = "much"\n',
     "change[0].scale", "decimal"),
    ('name = "x"\n[[change]]\ntable = "pay_scale"\ncolumn = "base_pay"\nscale = 1.1\nadd = 5\n',
     "change[0]", "exactly one of scale, set, add"),
    ('name = "x"\n[[change]]\ntable = "pay_scale"\ncolumn = "pay"\nscale = 1.1\n',
     "change[0]", "column 'pay' cannot be changed"),
    ('name = "x"\n[[change]]\ntable = "posts"\ncolumn = "risk_class"\nset = "extreme"\n',
     "change[0]", "not one of normal, high"),
    ('name = "x"\n[[change]]\ntable = "regions"\ncolumn = "name"\nset = "a"\n', "change[0].table", "Input should be"),
    ('name = "x"\n[roster]\nattrition_rate = 1.5\n', "roster.attrition_rate", "less than 1"),
    ('name = "x"\n[[roster.hires]]\nmonth = "2025-13"\ncount = 5\nregion = "530100"\ncategory = "duty"\nlevel = 7\n',
     "roster.hires[0].month", "not a month"),
    ('name = "x"\n[assumptions.overtime_hours]\nduty = { workday = -2 }\n',
     "assumptions.overtime_hours.duty.workday", "greater than or equal to 0"),
    ('name = "x"\n[solver]\nstep = 0\n', "solver.step", "greater than 0"),
    ('name = "x"\nbudget = 5\n', "budget", "Extra inputs"),
    ('[[change]]\ntable = "pay_scale"\n', "name", "Field required"),
]


@pytest.mark.parametrize("text, path, reason", BAD)
def test_bad_scenario_names_the_key_path(text, path, reason):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.toml")
    assert caught.value.path == path
    assert reason in str(caught.value) and str(caught.value).startswith(f"bad.toml: {path}: ")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_payroll(*args, cwd=cwd)


@pytest.mark.parametrize("text, path", [
    ('name = "x"\n[roster]\nattrition_rate = 1.5\n', "roster.attrition_rate"),
    # checked against the tables: a filter that matches nothing, a region not in regions.csv
    ('name = "x"\n[[change]]\ntable = "pay_scale"\ncolumn = "base_pay"\nscale = 1.1\nlevel = 99\n', "change[0]"),
    ('name = "x"\n[[change]]\ntable = "pay_scale"\ncolumn = "base_pay"\nscale = 1.1\nregion = "999999"\n',
     "change[0].region"),
    ('name = "x"\n[[roster.hires]]\nmonth = "2025-03"\ncount = 5\nregion = "530100"\ncategory = "duty"\nlevel = 12\n',
     "roster.hires[0].level"),
    ('name = "x"\n[[change]]\ntable = "pay_scale"\n', "change[0].column"),
    # the duty allowance is a national row: Nantong has none of its own to raise
    ('name = "x"\n[solver]\ncomponent = "duty_allowance"\nregions = ["320600"]\n', "solver"),
    ('name = "x"\n[[change]\n', ""),
])
def test_bad_scenario_file_exits_2_and_writes_nothing(tmp_path, text, path, monkeypatch):
    # the solver's component is checked once the scenario is projected: January is enough (the
    # other files are refused before any projection)
    project_first_months(monkeypatch, 1)
    scenario = tmp_path / "bad.toml"
    scenario.write_text(text, encoding="utf-8")
    out = tmp_path / "report.xlsx"
    result = cli("simulate", str(scenario), "--people", "5", "--year", "2025", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert f"bad.toml: {path}" in message
    assert not out.exists() and not list(tmp_path.glob("*.xlsx"))


def test_simulate_on_the_database_roster_writes_the_report(tmp_path, monkeypatch):
    from payroll.db import connect
    # January–March: promotion (from January), attrition (from February) and the hires (March)
    # all in the projection; the monthly sheet has a row for each projected month
    months = 3
    project_first_months(monkeypatch, months)
    db = tmp_path / "city.duckdb"
    con = connect(db)
    for row in ROSTER:
        con.execute(
            "INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date, "
            "leave_date, special_deduction, contribution_base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
    con.close()
    before = db.read_bytes()
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "kunming-500-duty.toml"
    text = scenario.read_text(encoding="utf-8").replace("count = 500", "count = 2").replace("2026-03", "2025-03")
    (tmp_path / "kunming.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "out" / "kunming.xlsx"
    result = cli("simulate", "kunming.toml", "--db", str(db), "--year", "2025", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert db.read_bytes() == before                      # the user's database is only read
    assert "report:" in result.stdout and "Headcount" in result.stdout
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["汇总", "按项目", "按地区", "按单位", "按类别", "按层级", "按月", "平均工资底线"]
    components = book["按项目"]
    assert [c.value for c in components[2]] == ["年度", "项目", "基线", "情景", "增减", "增减幅度"]
    rows = {r[1]: r for r in components.iter_rows(min_row=3, values_only=True)}
    assert rows["应发工资"][4] == pytest.approx(rows["应发工资"][3] - rows["应发工资"][2], abs=0.005)
    assert rows["单位总成本"][4] > 0                       # two people hired in Kunming cost money
    assert book["按月"].max_row == 2 + months
    with zipfile.ZipFile(out) as archive:                  # native charts: component bars, monthly line
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
        assert len(charts) == 2
        kinds = {archive.read(name).decode().count("<c:barChart>") + 2 * archive.read(name).decode().count(
            "<c:lineChart>") for name in charts}
        assert kinds == {1, 2}
