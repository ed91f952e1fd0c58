"""An employee's own payslips: the list with each month's confirmation state, the explanation, the
payslip file, and the confirm or question buttons. The person is always the user's own record."""
from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...office.confirmations import ANSWERS, answer_of, answer_payslip
from ..guard import Ctx, page
from .people import explanation_context, months_of, payslip_response


@page("own.payslips", person="self")
def my_payslips(ctx: Ctx) -> Response:
    employee_id = ctx.user.employee_id
    rows = [(m, answer_of(ctx.cur, employee_id, m)) for m in reversed(months_of(ctx, employee_id))]
    return ctx.render("me.html", title="我的工资条 My payslips", rows=rows, answers=ANSWERS)


@page("own.payslips", audit="view_pay", person="self")
def my_payslip(ctx: Ctx) -> Response:
    context = explanation_context(ctx, ctx.user.employee_id, ctx.param("month"), ctx.param("compare"))
    answer = answer_of(ctx.cur, ctx.user.employee_id, context["month"])
    return ctx.render("me_payslip.html", title=f"工资条 Payslip {context['month']}", answer=answer,
                      answers=ANSWERS, download=f"/me/payslip.xlsx?month={context['month']}", **context)


@page("own.payslips", audit="download_payslip", person="self")
def my_payslip_file(ctx: Ctx) -> Response:
    return payslip_response(ctx, ctx.user.employee_id, ctx.param("month"))


@page("own.payslips", audit="answer_payslip", person="self")
def my_answer(ctx: Ctx) -> Response:
    month, answer = ctx.param("month"), ctx.param("answer")
    if month not in months_of(ctx, ctx.user.employee_id):
        from ...errors import PayrollError
        raise PayrollError(f"you have no payslip in {month}")
    with ctx.office.writer() as cur:
        answer_payslip(cur, ctx.user.employee_id, month, answer, ctx.param("comment"), ctx.user.username)
    ctx.audit_detail = f"{month}: {answer}"
    return RedirectResponse(f"/me/payslip?month={month}", status_code=303)


routes = [Route("/me", my_payslips), Route("/me/payslip", my_payslip), Route("/me/payslip.xlsx", my_payslip_file),
          Route("/me/answer", my_answer, methods=["POST"])]
