"""Every article a payslip or benefit line cites from the five seed regulations exists in the texts
held in ../shared/regulations/, and each region's lines cite that region's own regulation only."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from conftest import SHIPPED_TABLES, policy_for

from payroll.engine.pipeline import all_rules
from payroll.rules.citations import REGIONAL_BASIS, basis_for
from payroll.rules.floors import AVERAGE_WAGE_FLOOR_BASIS
from payroll.rules.work_injury import ITEMS

REGULATIONS = Path(__file__).resolve().parents[1].parent / "shared" / "regulations"
FILES = {
    "内蒙古条例": "inner-mongolia-2022-regulation.txt",
    "杭州规定": "hangzhou-2021-provisions.txt",
    "鄂尔多斯指导意见": "ordos-2022-guidance.txt",
    "云南条例": "yunnan-2024-regulation.md",
    "南通实施办法": "nantong-2023-measures.txt",
}
DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 24 → 二十四, 33 → 三十三 (articles run below 100)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else DIGITS[tens]) + "十" if tens else "") + (DIGITS[ones] if ones else "")


def articles_of(text: str) -> dict[int, list[str]]:
    """Article number → its paragraphs (non-empty lines up to the next article heading)."""
    found: dict[int, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip().replace("**", "")
        heading = re.match(r"^第([一二三四五六七八九十]+)条", line)
        if heading:
            current = next(n for n in range(1, 100) if chinese_number(n) == heading.group(1))
            found[current] = [line]
        elif line and current is not None and not line.startswith("第"):
            found[current].append(line)
    return found


@pytest.fixture(scope="module")
def texts():
    if not REGULATIONS.is_dir():
        pytest.skip(f"the regulation texts are not here ({REGULATIONS})")
    return {name: (REGULATIONS / file).read_text(encoding="utf-8") for name, file in FILES.items()}


def cited_articles(basis: str):
    """(regulation, article, paragraph or None) and (鄂尔多斯, section) for every seed citation."""
    for clause in re.split(r";", basis):
        for name in FILES:
            if name not in clause:
                continue
            tail = clause.split(name, 1)[1]
            if name == "鄂尔多斯指导意见":
                for part, sub, item in re.findall(r"([一二三四五六七八九十]+)\(([一二三四五六七八九十]+)\)(\d+)", tail):
                    yield name, (part, sub, int(item)), None
                continue
            for refs in re.findall(r"arts?\.\s*([0-9][0-9,\s–-]*(?:para\.\s*\d+)?)", tail):
                paragraph = re.search(r"para\.\s*(\d+)", refs)
                numbers = re.sub(r"para\.\s*\d+", "", refs)
                for piece in re.split(r"[,\s]+", numbers.strip(" ,")):
                    if not piece:
                        continue
                    low, _, high = piece.replace("-", "–").partition("–")
                    for article in range(int(low), int(high or low) + 1):
                        yield name, article, int(paragraph.group(1)) if paragraph else None


def every_basis() -> dict[str, str]:
    bases = {f"rule {rule.name}": rule.basis for rule in all_rules().values()}
    bases.update({f"benefit item {item.name}": item.basis for item in ITEMS.values()})
    bases["floor report"] = AVERAGE_WAGE_FLOOR_BASIS
    for family, articles in REGIONAL_BASIS.items():
        bases.update({f"citations {family} {region}": text for region, text in articles.items()})
    with open(SHIPPED_TABLES / "police_reference.csv", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            bases[f"police_reference.csv row {line}"] = row["article"]
    return bases


def test_every_cited_article_exists_in_the_text(texts):
    checked = 0
    for where, basis in every_basis().items():
        for name, article, paragraph in cited_articles(basis):
            text = texts[name]
            if name == "鄂尔多斯指导意见":
                part, sub, item = article
                section = re.search(rf"^{part}、.*?(?=^[一二三四五六七八九十]+、|\Z)", text, re.M | re.S)
                assert section, f"{where}: {name} {part} not in the text"
                subsection = re.search(rf"^（{sub}）.*?(?=^（|\Z)", section.group(0), re.M | re.S)
                assert subsection, f"{where}: {name} {part}({sub}) not in the text"
                assert re.search(rf"^{item}\.", subsection.group(0), re.M), \
                    f"{where}: {name} {part}({sub}){item} not in the text"
            else:
                paragraphs = articles_of(text).get(article)
                assert paragraphs, f"{where}: {name} art. {article} is not in {FILES[name]}"
                if paragraph:
                    assert len(paragraphs) >= paragraph, f"{where}: {name} art. {article} has no para. {paragraph}"
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("where, article, words", [
    # what the cited article says, in its own words: a citation that moved would fail here
    ("level_pay", ("内蒙古条例", 33), "层级化管理"),
    ("level_pay", ("杭州规定", 13), "层级化管理"),
    ("level_pay", ("云南条例", 26), "分类分级管理"),
    ("level_pay", ("南通实施办法", 11), "层级与薪酬待遇挂钩"),
    ("pay_standard", ("内蒙古条例", 24), "辅警薪酬标准"),
    ("pay_standard", ("云南条例", 33), "危险性"),
    ("overtime", ("云南条例", 35), "延长工作时间"),
    ("social_insurance", ("杭州规定", 22), "社会保险"),
    ("accident_insurance", ("内蒙古条例", 25), "人身意外伤害保险"),
    ("accident_insurance", ("南通实施办法", 13), "人身意外伤害保险"),
    ("floor", ("南通实施办法", 7), "不低于当地在岗职工上年度平均工资水平"),
])
def test_the_cited_article_says_what_the_line_does(texts, where, article, words):
    name, number = article
    assert words in "".join(articles_of(texts[name])[number])


def test_the_wrong_citations_of_the_audit_are_gone():
    bases = " | ".join(every_basis().values())
    base_pay = basis_for(all_rules()["base_pay"].basis, "level_pay", "150100")
    assert "art. 33" in base_pay and "art. 24" not in base_pay            # level pay is 内蒙古 art. 33
    assert "三(三)2" in basis_for(all_rules()["base_pay"].basis, "level_pay", "150600")
    assert "art. 25" not in basis_for(all_rules()["high_risk_allowance"].basis, "pay_standard", "150100")
    assert "内蒙古条例 art. 24" not in AVERAGE_WAGE_FLOOR_BASIS           # a reference, not a floor
    assert "云南条例" not in basis_for(all_rules()["night_shift_pay"].basis, "pay_standard", "320600")
    assert "内蒙古条例 art. 25 (high-risk posts)" not in bases


def test_rules_name_no_regional_regulation_outside_the_citation_map():
    # the region's article comes only from rules/citations.py, so no region sees another's
    for rule in all_rules().values():
        assert not any(name in rule.basis for name in FILES), rule.name


@pytest.mark.parametrize("prefix, own", [
    ("15", {"内蒙古条例"}), ("1506", {"内蒙古条例", "鄂尔多斯指导意见"}), ("3301", {"杭州规定"}),
    ("53", {"云南条例"}), ("3206", {"南通实施办法"}),
])
def test_each_region_cites_only_its_own_regulation(prefix, own):
    for family, articles in REGIONAL_BASIS.items():
        if prefix in articles:
            named = {name for name in FILES if name in articles[prefix]}
            assert named and named <= own, (family, prefix, articles[prefix])


def test_a_nantong_payslip_never_cites_another_region():
    from payroll.db import connect
    from payroll.engine.run import prepare_connection, run_months
    from payroll.engine.trace import trace_person

    con = connect(":memory:")
    con.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date, "
                "special_deduction) VALUES ('N1', '周一', '320600', '崇川分局', 'duty', 7, 'PATROL', '2020-01-01', 0)")
    policy = policy_for(str(SHIPPED_TABLES))
    run_months(con, policy, "2025-05", "2025-05")
    lines = trace_person(con, policy, "N1", "2025-05")
    bases = {line.name: line.basis for line in lines}
    assert not [name for name, basis in bases.items() if re.search("云南|内蒙古|鄂尔多斯|杭州", basis)]
    assert "南通实施办法 art. 13 para. 1" in bases["pension_employee"]
    assert "南通实施办法 art. 7 para. 2, art. 11" in bases["base_pay"]
    assert "南通实施办法 art. 7 para. 2" in bases["night_shift_pay"]
