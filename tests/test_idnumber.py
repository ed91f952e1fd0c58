"""GB 11643-1999 resident ID numbers: checksum, birth date, masking, finding full numbers in text."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from payroll.io.idnumber import (check_character, contains_full_id_number, find_full_id_numbers,
                                 id_number_problem, id_number_problems, is_valid_id_number,
                                 mask_id_number, mask_id_numbers)


def independent_check_character(first_17: str) -> str:
    """ISO 7064 MOD 11-2 from its definition: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11."""
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(first_17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def with_check(first_17: str) -> str:
    return first_17 + independent_check_character(first_17)


VALID = [
    "11010519491231002X",                 # the standard's own example
    with_check("44030819990101123"),
    with_check("32060219850615001"),
    with_check("15010020000229456"),       # 29 February of a leap year
    with_check("53010219701001999"),
]


def test_the_standard_example_is_valid():
    assert independent_check_character("11010519491231002") == "X"
    assert check_character("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers_pass(number):
    assert id_number_problem(number) is None
    assert check_character(number[:17]) == number[17]


def test_every_check_character_agrees_with_the_definition():
    for sequence in range(1000):
        first_17 = f"32060219850615{sequence:03d}"
        assert check_character(first_17) == independent_check_character(first_17)


def test_lower_case_x_is_accepted():
    assert is_valid_id_number("11010519491231002x")


def wrong_check(number: str) -> str:
    right = number[17]
    return number[:17] + ("0" if right != "0" else "1")


@pytest.mark.parametrize("number, reason", [
    (wrong_check("11010519491231002X"), "checksum"),
    (wrong_check(VALID[1]), "checksum"),
    (with_check("11010519490230002"), "birth date"),        # 30 February
    (with_check("11010519491301002"), "birth date"),        # month 13
    (with_check("11010519010229002"), "birth date"),        # 1901 is not a leap year
    (with_check("11010599991231002"), "birth date"),        # in the future
    ("1101051949123100", "17 digits"),                       # too short
    ("11010519491231002XX", "17 digits"),                    # too long
    ("1101051949123100AX", "17 digits"),                     # a letter inside
    ("１１０１０５１９４９１２３１００２X", "17 digits"),          # full-width digits
])
def test_invalid_numbers_are_refused_with_a_masked_reason(number, reason):
    problem = id_number_problem(number)
    assert problem is not None and reason in problem
    if len(number) == 18:
        assert number not in problem
        assert mask_id_number(number) in problem


def test_birth_date_in_the_future_depends_on_today():
    number = with_check("11010520300101002")
    assert is_valid_id_number(number, today=date(2031, 1, 1))
    assert not is_valid_id_number(number, today=date(2029, 1, 1))


def test_vectorised_check_matches_the_single_one():
    numbers = pd.Series(VALID + [wrong_check(VALID[0]), "abc", with_check("11010519490230002")])
    reasons = id_number_problems(numbers)
    assert reasons[:len(VALID)].isna().all()
    assert reasons[len(VALID):].notna().all()


def test_mask_keeps_first_six_and_last_four():
    assert mask_id_number("110101199001011234") == "110101********1234"
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("12345") == "*****"
    assert mask_id_number("12345678901") == "123456*8901"
    masked = mask_id_numbers(pd.Series(["110101199001011234", "12345"]))
    assert list(masked) == ["110101********1234", "*****"]


def test_find_full_numbers_in_text():
    text = f"工号 E1 身份证{VALID[1]}，另 {mask_id_number(VALID[2])} 和 {VALID[2]}."
    assert find_full_id_numbers(text) == [VALID[1], VALID[2]]
    assert not contains_full_id_number(mask_id_number(VALID[1]))
    # a run of 18 digits with a wrong check character is not counted unless asked
    bad = wrong_check(VALID[3])
    assert find_full_id_numbers(bad) == []
    assert find_full_id_numbers(bad, require_checksum=False) == [bad]
    # part of a longer number is not an ID on its own
    assert find_full_id_numbers("9" + VALID[1], require_checksum=False) == []
