"""Individual income tax on wages by cumulative withholding (累计预扣法).

国家税务总局公告2018年第61号 art. 6: taxable = cumulative income − cumulative basic deduction
(5,000 × months employed by this payer, 个税法 art. 6) − cumulative employee contributions −
cumulative special additional deductions; tax this month = taxable × rate − quick deduction − tax
already withheld, never below 0. 公告2020年第19号: a person withheld on by us in every month of last
year with at most 60,000 yuan gets the full 60,000 deduction from January.
"""
from ..engine.rule import Rule

BASIS = "国家税务总局公告2018年第61号 art. 6; 个人所得税法 art. 6"
NO19_BASIS = "国家税务总局公告2020年第19号"

RULES = [
    Rule(
        name="employee_contributions",
        sql="pension_employee + medical_employee + unemployment_employee + housing_fund_employee",
        label_zh="专项扣除（个人社保公积金）", label_en="Employee contributions",
        formula="{pension_employee} + {medical_employee} + {unemployment_employee} + {housing_fund_employee}",
        basis=BASIS,
    ),
    Rule(name="months_employed_ytd", sql="prev_months_employed_ytd + 1",
         label_zh="本年受雇月份数", label_en="Months employed this year",
         formula="{prev_months_employed_ytd} + 1", basis=BASIS, unit="int"),
    Rule(name="income_ytd", sql="prev_income_ytd + gross_pay - tax_exempt_income - income_taxed_apart",
         label_zh="累计收入（不含免税收入）", label_en="Income YTD (less exempt income)",
         formula="{prev_income_ytd} + {gross_pay} − {tax_exempt_income} − {income_taxed_apart}",
         basis=BASIS + " (累计收入 − 累计免税收入); 财税〔2012〕40号; severance and a bonus taxed apart "
               "stay out (财税〔2018〕164号 arts. 1(一), 5(一); rules/one_off.py)"),
    Rule(name="contributions_ytd", sql="prev_contributions_ytd + employee_contributions",
         label_zh="累计专项扣除", label_en="Employee contributions YTD",
         formula="{prev_contributions_ytd} + {employee_contributions}", basis=BASIS),
    Rule(name="special_deduction_ytd", sql="prev_special_deduction_ytd + special_deduction",
         label_zh="累计专项附加扣除", label_en="Special additional deductions YTD",
         formula="{prev_special_deduction_ytd} + {special_deduction}",
         basis=BASIS + "; 国发〔2018〕41号, 国发〔2023〕13号"),
    Rule(name="no19_applies",
         sql="coalesce(prior_year_months = 12 AND prior_year_gross <= iit_no19_income_limit, false)",
         label_zh="适用2020年第19号公告", label_en="No. 19 full-year deduction applies",
         formula="{prior_year_months} = 12 months last year and {prior_year_gross} ≤ {iit_no19_income_limit}",
         basis=NO19_BASIS, unit="bool"),
    Rule(name="basic_deduction_ytd",
         sql="CASE WHEN no19_applies THEN iit_no19_annual_deduction"
             " ELSE iit_basic_deduction_monthly * months_employed_ytd END",
         label_zh="累计减除费用", label_en="Basic deduction YTD",
         formula="{iit_no19_annual_deduction} if {no19_applies} else {iit_basic_deduction_monthly} × {months_employed_ytd}",
         basis=BASIS + "; " + NO19_BASIS),
    Rule(name="taxable_income_ytd",
         sql="greatest(0, income_ytd - basic_deduction_ytd - contributions_ytd - special_deduction_ytd)",
         label_zh="累计应纳税所得额", label_en="Taxable income YTD",
         formula="max(0, {income_ytd} − {basic_deduction_ytd} − {contributions_ytd} − {special_deduction_ytd})",
         basis=BASIS),
]

# the bracket whose threshold is the largest not above the taxable income (预扣率表一); the table in
# force comes as lists ordered by threshold, so the lookup is one list filter per row, no join
BRACKET_RULES = [
    Rule(name="iit_bracket",
         sql="list_count(list_filter(iit_thresholds, lambda threshold: threshold <= taxable_income_ytd))",
         label_zh="预扣率表档次", label_en="Tax bracket",
         formula="brackets of {iit_thresholds} at or below {taxable_income_ytd}",
         basis=BASIS + " (预扣率表一)", unit="int"),
    Rule(name="iit_rate", sql="iit_rates[iit_bracket]", label_zh="预扣率", label_en="Withholding rate",
         formula="rate of bracket {iit_bracket} in {iit_rates}", basis=BASIS + " (预扣率表一)", unit="ppm",
         reads=("iit_brackets_rows",)),
    Rule(name="iit_quick_deduction", sql="iit_quick_deductions[iit_bracket]",
         label_zh="速算扣除数", label_en="Quick deduction",
         formula="quick deduction of bracket {iit_bracket} in {iit_quick_deductions}",
         basis=BASIS + " (预扣率表一)", reads=("iit_brackets_rows",)),
]

AFTER_BRACKET = [
    Rule(name="iit_due_ytd",
         sql="round_div(taxable_income_ytd * iit_rate, 1000000) - iit_quick_deduction",
         label_zh="累计应预扣税额", label_en="Tax due YTD",
         formula="{taxable_income_ytd} × {iit_rate} − {iit_quick_deduction}", basis=BASIS),
    Rule(name="iit", sql="greatest(0, iit_due_ytd - prev_iit_ytd)",
         label_zh="本月个税", label_en="Income tax this month",
         formula="max(0, {iit_due_ytd} − {prev_iit_ytd})",
         basis=BASIS + " (a negative result is not refunded during the year)"),
    Rule(name="iit_ytd", sql="prev_iit_ytd + iit", label_zh="累计已扣个税", label_en="Income tax YTD",
         formula="{prev_iit_ytd} + {iit}", basis=BASIS),
]
