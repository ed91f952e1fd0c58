"""Deductions in their legal order, net pay never below 0, and the balance an employee owes.

工资支付暂行规定 (劳部发〔1994〕489号) art. 15: the employer may withhold from the wage the income tax,
the employee's social insurance (and housing fund), court-ordered support (法院判决、裁定中要求代扣的
抚养费、赡养费), and other amounts the law allows; art. 16: damages the employee caused may be
deducted, at most 20 % of the month's wage (`deduction_limited_share`), and what is left may not
fall below the local minimum wage.

Order: tax, then the employee's contributions, then court-ordered amounts, then `other`, then the
limited kinds (`damages`, `recovery`), then the balance owed from earlier months (also limited).
When tax and contributions exceed the month's pay, net pay is 0 and the difference becomes a
balance the employee owes (应收个人款, `shortfall_carried`); a deduction (other than court-ordered)
the month cannot take is added to that balance too. The balance is recovered from later pay within
the art. 16 limits (`balance_recovery`), or on the final settlement. The identity becomes

    net_pay = gross_pay − employee contributions − medical_levy_employee − iit − iit_annual_bonus − iit_severance
              − deduction − balance_recovery + shortfall_carried
"""
from ..engine.rule import ContextColumn, Rule

BASIS = "工资支付暂行规定 (劳部发〔1994〕489号) art. 15 (order of deductions)"
LIMIT_BASIS = "工资支付暂行规定 (劳部发〔1994〕489号) art. 16 (≤ 20 % of the month's wage, not below the minimum wage)"
KINDS = {"court": "法院判决代扣", "other": "其他扣款", "damages": "赔偿经济损失", "recovery": "追回多发款项"}
LIMITED_KINDS = ("damages", "recovery")

CONTEXT = [
    ContextColumn("deduction_requested", "fen", "应扣款项（申报）", "Deduction asked for", "attendance"),
    ContextColumn("deduction_kind", "text", "扣款类别", "Deduction kind (court, other, damages, recovery)",
                  "attendance"),
    ContextColumn("balance_owed_before", "fen", "上月应收个人款余额", "Balance owed by the employee before",
                  "payslips"),
]

RULES = [
    Rule(name="tax_withheld", sql="iit + iit_annual_bonus + iit_severance",
         label_zh="本次代扣个税合计", label_en="Income tax withheld, all items",
         formula="{iit} + {iit_annual_bonus} + {iit_severance}", basis=BASIS + " (代扣代缴的个人所得税 first)"),
    Rule(name="pay_after_contributions",
         sql="gross_pay - tax_withheld - employee_contributions - medical_levy_employee",
         label_zh="扣税及社保公积金后工资", label_en="Pay after tax and contributions",
         formula="{gross_pay} − {tax_withheld} − {employee_contributions} − {medical_levy_employee}",
         basis=BASIS + " (the fixed medical levy is withheld with the contributions, rules/medical_levy.py)"),
    Rule(name="shortfall_carried", sql="greatest(0, -pay_after_contributions)",
         label_zh="本月不足扣部分（转应收个人款）", label_en="Shortfall carried (owed by the employee)",
         formula="max(0, −{pay_after_contributions})",
         basis=BASIS + "; net pay is never below 0: the employer pays the funds, the employee owes the difference"),
    Rule(name="court_deduction",
         sql="CASE WHEN deduction_kind = 'court' THEN least(deduction_requested, greatest(0, pay_after_contributions))"
             " ELSE 0 END",
         label_zh="法院判决代扣款", label_en="Court-ordered deduction",
         formula="min({deduction_requested}, max(0, {pay_after_contributions})) when {deduction_kind} is court",
         basis=BASIS),
    Rule(name="other_deduction",
         sql="CASE WHEN deduction_kind = 'other' THEN least(deduction_requested,"
             " greatest(0, pay_after_contributions) - court_deduction) ELSE 0 END",
         label_zh="其他代扣款", label_en="Other deduction",
         formula="min({deduction_requested}, max(0, {pay_after_contributions}) − {court_deduction}) when "
                 "{deduction_kind} is other",
         basis=BASIS),
    Rule(name="limited_deduction_room",
         sql="greatest(0, least(round_div(greatest(0, gross_pay) * deduction_limited_share, 1000000),"
             " greatest(0, pay_after_contributions) - court_deduction - other_deduction - minimum_wage_prorated))",
         label_zh="赔偿及追款可扣限额", label_en="Room for damages and recovery",
         formula="max(0, min({gross_pay} × {deduction_limited_share}, max(0, {pay_after_contributions}) − "
                 "{court_deduction} − {other_deduction} − {minimum_wage_prorated}))",
         basis=LIMIT_BASIS, reads=("deduction_limited_share_row", "minimum_wage_row")),
    Rule(name="limited_deduction",
         sql="CASE WHEN deduction_kind IN ('damages', 'recovery') THEN least(deduction_requested,"
             " limited_deduction_room) ELSE 0 END",
         label_zh="赔偿经济损失及追款扣款", label_en="Damages or recovery deducted",
         formula="min({deduction_requested}, {limited_deduction_room}) when {deduction_kind} is damages or recovery",
         basis=LIMIT_BASIS),
    Rule(name="deduction", sql="court_deduction + other_deduction + limited_deduction",
         label_zh="其他扣款", label_en="Deductions taken",
         formula="{court_deduction} + {other_deduction} + {limited_deduction}", basis=BASIS),
    Rule(name="deduction_untaken", sql="deduction_requested - deduction",
         label_zh="本月未能扣除的扣款", label_en="Deduction the month could not take",
         formula="{deduction_requested} − {deduction}",
         basis=BASIS + "; " + LIMIT_BASIS + " (not court-ordered: carried as a balance owed)"),
    Rule(name="balance_recovery",
         sql="least(balance_owed_before, limited_deduction_room - limited_deduction)",
         label_zh="扣回应收个人款", label_en="Balance owed recovered",
         formula="min({balance_owed_before}, {limited_deduction_room} − {limited_deduction})", basis=LIMIT_BASIS),
    Rule(name="balance_owed",
         sql="balance_owed_before - balance_recovery + shortfall_carried"
             " + CASE WHEN deduction_kind = 'court' THEN 0 ELSE deduction_untaken END",
         label_zh="应收个人款余额", label_en="Balance owed by the employee after this pay",
         formula="{balance_owed_before} − {balance_recovery} + {shortfall_carried} + {deduction_untaken} "
                 "(unless {deduction_kind} is court)",
         basis=BASIS + "; " + LIMIT_BASIS),
]
