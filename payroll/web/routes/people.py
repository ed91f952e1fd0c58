"""HR's pages (the issue-10 pages behind login and scope): find a person, the month's explanation,
the comparison with another month and its causes, the payslip file; who confirmed their payslip."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from ...engine.context import Month
from ...errors import PayrollError
from ...io.idnumber import mask_id_number
from ...office.confirmations import ANSWERS, confirmations, confirmations_csv
from ...reports.compare import compare_months, comparison_json
from ...reports.explain import PAYSLIP_SECTIONS, row_text
from ...reports.payslips import export_payslips
from ..guard import Ctx, page

SEARCH_LIMIT = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def search(ctx: Ctx, text: str) -> list[tuple]:
    text = text.strip()
    if not text:
        return []
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where, params = ctx.scope("people.search", "e.employee_id")
    # the server's index names the people who may match; the condition below decides (payroll.web.search)
    index = ctx.office.people.index(ctx.cur)
    candidates = index.candidates(text) if index is not None else None
    if candidates == []:
        return []
    among, among_params = (("e.employee_id IN (SELECT unnest(?::VARCHAR[]))", [candidates])
                           if candidates is not None else ("true", []))
    return ctx.cur.execute(
        "SELECT employee_id, name, id_number_masked, unit FROM employees e "
        f"WHERE {among} AND (employee_id = ? OR employee_id ILIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\') "
        f"AND {where} ORDER BY employee_id <> ?, employee_id LIMIT {SEARCH_LIMIT}",
        [*among_params, text, like, like, *params, text]).fetchall()


def months_of(ctx: Ctx, employee_id: str) -> list[str]:
    return [m for (m,) in ctx.cur.execute(
        "SELECT DISTINCT month FROM payslips WHERE employee_id = ? ORDER BY month", [employee_id]).fetchall()]


@page("people.search")
def home(ctx: Ctx) -> Response:
    text = ctx.param("q")
    found = [(eid, name, mask_id_number(idn) if idn else "", unit) for eid, name, idn, unit in search(ctx, text)]
    return ctx.render("home.html", title="查找 Find people", q=text, found=found, limit=SEARCH_LIMIT)


def explanation_context(ctx: Ctx, employee_id: str, month_param: str, compare_param: str) -> dict:
    """What person.html and me_payslip.html show: the month's explanation and, asked for, the comparison."""
    months = months_of(ctx, employee_id)
    if not months:
        raise PayrollError(f"no payslips for {employee_id}")
    month = month_param or months[-1]
    if month not in months:
        raise PayrollError(f"{employee_id} has no payslip in {month}")
    explainer = ctx.office.explainer()
    explanation = explainer.explain(employee_id, month)
    comparison = None
    if compare_param:
        if compare_param not in months:
            raise PayrollError(f"{employee_id} has no payslip in {compare_param}")
        earlier, later = sorted((month, compare_param))
        comparison = compare_months(explainer, employee_id, earlier, later)
        ctx.audit_detail = f"{month} compared with {compare_param}"
    else:
        ctx.audit_detail = month
    return dict(employee_id=employee_id, month=month, months=months, compare=compare_param,
                explanation=explanation, comparison=comparison, sections=PAYSLIP_SECTIONS, row_text=row_text,
                masked=mask_id_number(explanation.person["id_number_masked"] or "") if explanation.person[
                    "id_number_masked"] else "",
                labels={line["name"]: f"{line['label_zh']} {line['label_en']}" for line in comparison.lines}
                if comparison else {})


@page("pay.view", audit="view_pay", person="id")
def person(ctx: Ctx) -> Response:
    employee_id = ctx.param("id")
    context = explanation_context(ctx, employee_id, ctx.param("month"), ctx.param("compare"))
    download = f"/payslip.xlsx?id={quote(employee_id)}&month={quote(context['month'])}"
    certificate = f"/certificate.xlsx?id={quote(employee_id)}&year={quote(context['month'][:4])}"
    return ctx.render("person.html", title=f"{employee_id} {context['month']}", download=download,
                      certificate=certificate, **context)


def payslip_response(ctx: Ctx, employee_id: str, month: str) -> Response:
    Month.parse(month)
    ctx.audit_detail = month
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "payslip.xlsx"
        export_payslips(ctx.cur, month, path, employee_id=employee_id)
        body = path.read_bytes()
    name = f"payslip-{employee_id}-{month}.xlsx"
    return Response(body, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@page("pay.view", audit="download_payslip", person="id")
def payslip_file(ctx: Ctx) -> Response:
    return payslip_response(ctx, ctx.param("id"), ctx.param("month"))


@page("pay.view", audit="income_certificate", person="id")
def certificate_file(ctx: Ctx) -> Response:
    """The income certificate (收入证明, issue 19) of a year, for HR within scope; the audit entry
    says who produced it, and the certificate is also listed in `disclosures`."""
    from ...reports.certificate import write_certificate
    employee_id, year = ctx.param("id"), ctx.param("year")
    if not (year.isdigit() and len(year) == 4):
        raise PayrollError(f"year {year!r} is not a year YYYY")
    ctx.audit_detail = year
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.xlsx"
        write_certificate(ctx.cur, employee_id, year=int(year), out=path, in_transaction=True)
        body = path.read_bytes()
    name = f"certificate-{employee_id}-{year}.xlsx"
    return Response(body, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@page("pay.view", audit="view_pay", person="id")
def api_explain(ctx: Ctx) -> Response:
    ctx.audit_detail = ctx.param("month")
    body = json.dumps(ctx.office.explainer().explain(ctx.param("id"), ctx.param("month")).to_dict(), ensure_ascii=False)
    return Response(body, media_type="application/json; charset=utf-8")


@page("pay.view", audit="view_pay", person="id")
def api_compare(ctx: Ctx) -> Response:
    earlier, later = sorted((ctx.param("month"), ctx.param("compare")))
    ctx.audit_detail = f"{earlier} compared with {later}"
    body = comparison_json(compare_months(ctx.office.explainer(), ctx.param("id"), earlier, later))
    return Response(body, media_type="application/json; charset=utf-8")


def _confirmation_month(ctx: Ctx) -> tuple[str, list[str]]:
    months = [m for (m,) in ctx.cur.execute("SELECT DISTINCT month FROM payslips ORDER BY month DESC").fetchall()] \
        if ctx.cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'payslips'"
                           ).fetchall()[0][0] else []
    month = ctx.param("month") or (months[0] if months else "")
    if month:
        Month.parse(month)
    return month, months


@page("confirmations.read", audit="view_confirmations")
def confirmations_page(ctx: Ctx) -> Response:
    month, months = _confirmation_month(ctx)
    rows = confirmations(ctx.cur, month, ctx.scope("confirmations.read")) if month else []
    ctx.audit_target = month
    counts = {key: sum(1 for r in rows if r[4] == key) for key in ANSWERS}
    return ctx.render("confirmations.html", title="工资条确认 Payslip confirmations", month=month, months=months,
                      rows=rows, answers=ANSWERS, counts=counts, unanswered=sum(1 for r in rows if not r[4]))


@page("confirmations.read", audit="export_confirmations")
def confirmations_export(ctx: Ctx) -> Response:
    month, _ = _confirmation_month(ctx)
    if not month:
        raise PayrollError("no month has been run yet")
    ctx.audit_target = month
    body = confirmations_csv(confirmations(ctx.cur, month, ctx.scope("confirmations.read")))
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=confirmations-{month}.csv"})


routes = [Route("/", home), Route("/person", person), Route("/payslip.xlsx", payslip_file),
          Route("/certificate.xlsx", certificate_file),
          Route("/api/explain", api_explain), Route("/api/compare", api_compare),
          Route("/confirmations", confirmations_page), Route("/confirmations.csv", confirmations_export)]
