"""Optional finance columns of the employees file: the bank account and the special additional
deductions by item.

Bank account (银行账号): digits only (spaces and hyphens typed for readability are removed),
MIN..MAX digits: Chinese personal accounts and cards are 16–19 digits, old passbook and some
corporate accounts are shorter or longer, so the check is the shape, not a Luhn digit (passbook
numbers do not carry one). An account is personal data: it is stored for the bank transfer file
and appears in no other output; messages never quote it.

Special additional deductions by item (专项附加扣除, 国发〔2018〕41号 and 国发〔2022〕8号,
国发〔2023〕13号 for the amounts; 个人养老金 财政部 税务总局公告2022年第34号): monthly amounts. When a row
gives any item, `special_deduction` (the monthly total the tax engine uses) must equal their sum,
or be empty and is then derived from them.
"""
from __future__ import annotations

import pandas as pd

from .checks import ProblemLog, all_alphanumeric, matches, parse_amounts

BANK_ACCOUNT_MIN_DIGITS = 10
BANK_ACCOUNT_MAX_DIGITS = 30

# monthly item -> (Chinese header, the tax template's cumulative column)
DEDUCTION_ITEMS: dict[str, tuple[str, str]] = {
    "children_education": ("子女教育", "累计子女教育"),
    "continuing_education": ("继续教育", "累计继续教育"),
    "housing_loan_interest": ("住房贷款利息", "累计住房贷款利息"),
    "housing_rent": ("住房租金", "累计住房租金"),
    "elderly_support": ("赡养老人", "累计赡养老人"),
    "infant_care": ("3岁以下婴幼儿照护", "累计3岁以下婴幼儿照护"),
    "personal_pension": ("个人养老金", "累计个人养老金"),
}
EXTRA_COLUMNS = ("bank_account", *DEDUCTION_ITEMS)


def normalised_bank_accounts(values: pd.Series) -> pd.Series:
    """'6222 0212-3456 7890 123' -> '6222021234567890123': separators typed for reading removed."""
    if all_alphanumeric(values):          # the common case: nothing to remove
        return values
    return values.str.replace(r"[\s\-]+", "", regex=True)


def check_bank_accounts(log: ProblemLog, accounts: pd.Series) -> None:
    """Flag accounts that are not MIN..MAX digits; the message gives the length, never the number."""
    present = accounts != ""
    digits = matches(accounts, r"[0-9]+")
    log.flag(present & ~digits, "bank_account", "is not a bank account number: only digits are allowed")
    length = accounts.str.len()
    wrong_length = present & digits & ((length < BANK_ACCOUNT_MIN_DIGITS) | (length > BANK_ACCOUNT_MAX_DIGITS))
    log.flag(wrong_length, "bank_account",
             f"has {{}} digits; a bank account has {BANK_ACCOUNT_MIN_DIGITS}–{BANK_ACCOUNT_MAX_DIGITS}",
             length)


def special_deduction_with_items(log: ProblemLog, cells: pd.DataFrame) -> pd.Series:
    """The monthly total per row: as given, derived from the items when empty, flagged when it
    differs from the items' sum. Sums are in integer fen (exact)."""
    given_total = cells["special_deduction"]
    items = [c for c in DEDUCTION_ITEMS if (cells[c] != "").any()]
    if not items:
        return given_total
    item_fen = pd.DataFrame({c: _fen(parse_amounts(log, cells[c], c)) for c in items})
    has_items = (cells[items] != "").any(axis=1)
    items_ok = ~((cells[items] != "") & item_fen.isna()).any(axis=1)
    item_sum = item_fen.fillna(0).sum(axis=1).astype("int64")
    total_fen = _fen(pd.to_numeric(given_total.where(matches(given_total, r"[0-9]+(?:\.[0-9]{1,2}0*)?")),
                                   errors="coerce"))
    differs = has_items & items_ok & (given_total != "") & total_fen.notna() & (total_fen != item_sum)
    log.flag(differs, "special_deduction",
             "'{}' is not the sum of the special deduction items in this row ({})",
             given_total, item_sum.map(lambda fen: f"{fen // 100}.{fen % 100:02d}"))
    derived = item_sum.map(lambda fen: f"{fen // 100}.{fen % 100:02d}")
    return given_total.where(~(has_items & (given_total == "")), derived)


def _fen(amounts: pd.Series) -> pd.Series:
    """Parsed amounts (floats with at most 2 decimals, checked) as integer fen, NA kept."""
    return (amounts * 100).round().astype("Int64")
