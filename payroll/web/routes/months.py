"""The month's pages: the months and their state, a month's workflow with its steps, the review
page (and its XLSX), imports and runs as background jobs with their progress."""
from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...db import table_exists
from ...engine.context import Month
from ...engine.run import months_between, run_months
from ...errors import PayrollError
from ...io.importer import import_files
from ...office import workflow
from ...office.review import SWING_PERCENT, build_review, write_review_xlsx
from ...reports.month_files import MONTH_FILES
from ..guard import Ctx, page
from .people import XLSX_TYPE

IMPORT_KINDS = ("employees", "attendance", "timesheet", "events", "dependents")
UPLOAD_LIMIT_BYTES = 200 * 1024 * 1024


def _month(ctx: Ctx) -> str:
    month = ctx.request.path_params["month"]
    return Month.parse(month).label


@page("months.read")
def months_page(ctx: Ctx) -> Response:
    months = workflow.payslip_months(ctx.cur)
    rows = []
    if months:
        totals = dict((m, (n, net)) for m, n, net in ctx.cur.execute(
            "SELECT month, count(*), sum(net_pay) FROM payslips GROUP BY month").fetchall())
        rows = [(m, workflow.month_state(ctx.cur, m), *totals[m]) for m in reversed(months)]
    next_month = Month.parse(months[-1]).next().label if months else ""
    return ctx.render("months.html", title="月份 Months", rows=rows, labels=workflow.STATE_LABELS,
                      jobs=ctx.office.jobs.recent(), next_month=next_month, kinds=IMPORT_KINDS)


@page("months.read")
def month_page(ctx: Ctx) -> Response:
    month = _month(ctx)
    state = workflow.month_state(ctx.cur, month)
    if state is None:
        raise PayrollError(f"{month} has not been run")
    steps = [(name, step) for name, step in workflow.STEPS.items()
             if state in step.from_states and ctx.may(f"month.{name}")]
    can_close = ctx.may("month.close") and (state == "approved" or (ctx.office.single_person() and state != "closed"))
    submitter = workflow.last_actor(ctx.cur, month, "submit")
    return ctx.render("month.html", title=f"{month} {workflow.STATE_LABELS[state]}", month=month, state=state,
                      labels=workflow.STATE_LABELS, history=workflow.month_steps(ctx.cur, month), steps=steps,
                      can_close=can_close, submitter=submitter)


def _step(step_name: str):
    @page(f"month.{step_name}", audit=step_name)
    def take_step(ctx: Ctx) -> Response:
        month = _month(ctx)
        ctx.audit_target = month
        with ctx.office.writer() as cur:
            state = workflow.advance(cur, month, step_name, ctx.user.username, ctx.param("comment"))
        ctx.audit_detail = f"→ {state}; {ctx.param('comment')}".strip("; ")
        return RedirectResponse(f"/month/{month}", status_code=303)
    take_step.__name__ = f"step_{step_name}"
    return take_step


@page("month.close", audit="close")
def close(ctx: Ctx) -> Response:
    month = _month(ctx)
    ctx.audit_target = month
    with ctx.office.writer() as cur:
        closed = workflow.close_month(cur, month, ctx.user.username)
    ctx.audit_detail = f"closed {', '.join(closed)}"
    return RedirectResponse(f"/month/{month}", status_code=303)


@page("month.run", audit="run_started")
def start_run(ctx: Ctx) -> Response:
    first = ctx.param("month")
    through = ctx.param("through") or None
    labels = [m.label for m in months_between(first, through)]
    office, username = ctx.office, ctx.user.username
    ctx.audit_target = labels[0] if len(labels) == 1 else f"{labels[0]}..{labels[-1]}"

    def work(job):
        with office.writer() as cur, office.job_threads(cur):
            before = {m: workflow.payslips_digest(cur, m) for m in labels}
            results = run_months(cur, office.policy, first, through,
                                 progress=lambda result: job.messages.append(str(result)),
                                 retro=lambda arrears: job.messages.append(
                                     f"arrears: {arrears.lines} lines for closed months "
                                     f"{', '.join(arrears.months_recomputed)}"))
            sent_back = workflow.after_run(cur, labels, before, username)
        if sent_back:
            job.messages.append(f"back to draft (payslips changed): {', '.join(sent_back)}")
        office.record(_job_event(username, ctx, "run", ctx.audit_target,
                                 f"{len(results)} month(s); " + "; ".join(job.messages)))
        office.traces.warm()                        # the person pages' table of the new state
    job = office.jobs.start("run", f"计算 run {ctx.audit_target}", username, work)
    ctx.audit_detail = f"job {job.job_id}"
    return RedirectResponse(f"/jobs/{job.job_id}", status_code=303)


def _job_event(username: str, ctx: Ctx, action: str, target: str, detail: str):
    from ...office.audit import AuditEvent
    from ..guard import client_address
    return AuditEvent(username, "web", client_address(ctx.request), action, target, detail)


def read_upload(ctx: Ctx, field: str) -> tuple[str, bytes] | None:
    """The file posted in `field` as (its bare name, its bytes), or None when none was chosen; a
    .csv or .xlsx of at most UPLOAD_LIMIT_BYTES."""
    upload = ctx.form.get(field)
    if upload is None or isinstance(upload, str) or not upload.filename:
        return None
    name = Path(upload.filename).name                        # never a path from the client
    if not name or name.startswith(".") or Path(name).suffix.lower() not in (".csv", ".xlsx"):
        raise PayrollError(f"{field}: upload a .csv or .xlsx file (got {upload.filename!r})")
    data = upload.file.read(UPLOAD_LIMIT_BYTES + 1)
    if len(data) > UPLOAD_LIMIT_BYTES:
        raise PayrollError(f"{name}: larger than {UPLOAD_LIMIT_BYTES // 2**20} MB")
    return name, data


@page("month.import", audit="import_started")
def start_import(ctx: Ctx) -> Response:
    folder = Path(tempfile.mkdtemp(prefix="payroll-upload-"))
    paths: dict[str, Path] = {}
    for kind in IMPORT_KINDS:
        uploaded = read_upload(ctx, kind)
        if uploaded is None:
            continue
        name, data = uploaded
        target = folder / kind / name
        target.parent.mkdir()
        target.write_bytes(data)
        paths[kind] = target
    if not paths:
        raise PayrollError("choose at least one file to import")
    office, username = ctx.office, ctx.user.username
    files = ", ".join(f"{k}={p.name}" for k, p in paths.items())
    ctx.audit_target = files

    def work(job):
        try:
            with office.writer() as cur, office.job_threads(cur):
                summary = import_files(cur, office.policy, **paths)
                job.messages.append(str(summary))
                sent_back = workflow.after_import(cur, office.policy.digest, username, files)
            if sent_back:
                job.messages.append(f"back to draft (inputs changed): {', '.join(sent_back)}")
            office.record(_job_event(username, ctx, "import", files, "; ".join(job.messages)))
            office.traces.warm()
        finally:
            for path in paths.values():
                path.unlink(missing_ok=True)
                path.parent.rmdir()
            folder.rmdir()
    job = office.jobs.start("import", f"导入 import {files}", username, work)
    return RedirectResponse(f"/jobs/{job.job_id}", status_code=303)


@page("months.read")
def job_page(ctx: Ctx) -> Response:
    job = ctx.office.jobs.jobs.get(ctx.request.path_params["job_id"])
    if job is None:
        raise PayrollError("no such job")
    return ctx.render("job.html", title=job.title, job=job)


def _review(ctx: Ctx):
    month = _month(ctx)
    if not table_exists(ctx.cur, "payslips") or workflow.month_state(ctx.cur, month) is None:
        raise PayrollError(f"{month} has not been run")
    try:
        percent = int(ctx.param("swing") or SWING_PERCENT)
    except ValueError:
        raise PayrollError("swing: a whole percentage") from None
    if not 1 <= percent <= 1000:
        raise PayrollError("swing: between 1 and 1000 percent")
    ctx.audit_target = month
    return build_review(ctx.cur, month, ctx.scope("month.review_page"), ctx.office.policy,
                        ctx.office.explainer(), percent), percent


@page("month.review_page", audit="view_review")
def review_page(ctx: Ctx) -> Response:
    review, percent = _review(ctx)
    return ctx.render("review.html", title=f"审核 Review {review.month}", review=review, percent=percent,
                      state=workflow.month_state(ctx.cur, review.month), labels=workflow.STATE_LABELS)


@page("month.review_page", audit="export_review")
def review_xlsx(ctx: Ctx) -> Response:
    review, _ = _review(ctx)
    with tempfile.TemporaryDirectory() as folder:
        path = write_review_xlsx(review, Path(folder) / "review.xlsx")
        body = path.read_bytes()
    return Response(body, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f"attachment; filename=review-{review.month}.xlsx"})


# the files finance hands on (issue 8): MONTH_FILES, as `payroll export` writes them for the month's
# regular run; the tax declaration needs the HR file's full ID numbers, which the database never
# holds: uploaded for that file alone (tax_file)
CSV_TYPE = "text/csv; charset=utf-8"


def write_month_file(cur, month: str, name: str, out: Path) -> None:
    from ...reports.month_files import write_month_file as write
    write(cur, MONTH_FILES[name], month, name.rsplit(".", 1)[1], out)


def _outside_units(ctx: Ctx, month: str, name: str) -> Response | None:
    """A whole-roster file only for a user whose units hold everyone paid in the month (the refusal
    is audited); None when they do."""
    if not table_exists(ctx.cur, "payslips") or workflow.month_state(ctx.cur, month) is None:
        raise PayrollError(f"{month} has not been run")
    where, params = ctx.scope("month.files", "p.employee_id")
    outside = ctx.cur.execute(f"SELECT count(*) FROM payslips p WHERE p.month = ? AND NOT ({where})",
                              [month, *params]).fetchall()[0][0]
    if not outside:
        return None
    ctx.extra_events.append(("denied", month, f"month.files {name}: {outside} people outside the user's units"))
    return ctx.render("error.html", status=403, title="不允许 Not allowed",
                      message=f"此文件含你管辖范围以外的 {outside} 人 the file holds {outside} people outside "
                              f"your units: ask a user whose role covers every unit")


@page("month.files", audit="export")
def month_file(ctx: Ctx) -> Response:
    """One of the month's files. Whole-roster files: the user's units must hold everyone paid in the
    month. The bank file only once the month is closed: pay goes out after approval and closing."""
    month, name = _month(ctx), ctx.request.path_params["name"]
    if name not in MONTH_FILES:
        raise PayrollError(f"no file {name!r}; the month's files: {', '.join(MONTH_FILES)}")
    state = workflow.month_state(ctx.cur, month) if table_exists(ctx.cur, "payslips") else None
    if state is None:
        raise PayrollError(f"{month} has not been run")
    if MONTH_FILES[name] == "bank" and state != "closed":
        raise PayrollError(f"银行代发文件在结账后提供 the bank file is made once {month} is closed "
                           f"(now: {workflow.STATE_LABELS[state]})")
    refused = _outside_units(ctx, month, name)
    if refused is not None:
        return refused
    ctx.audit_target, ctx.audit_detail = month, name
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        write_month_file(ctx.cur, month, name, path)
        body = path.read_bytes()
    return Response(body, media_type=CSV_TYPE if name.endswith(".csv") else XLSX_TYPE,
                    headers={"Content-Disposition": f"attachment; filename={name.rsplit('.', 1)[0]}-{month}."
                                                    f"{name.rsplit('.', 1)[1]}"})


@page("month.files", audit="export")
def tax_file(ctx: Ctx) -> Response:
    """The tax declaration (扣缴申报): the clerk uploads the HR employees file for its full ID numbers;
    it is read from a private temporary folder and deleted with it, never kept."""
    month, fmt = _month(ctx), "xlsx"                  # the tax bureau's client takes the XLSX template
    uploaded = read_upload(ctx, "employees")
    if uploaded is None:
        raise PayrollError("choose the HR employees file (with the full ID numbers)")
    name, data = uploaded
    refused = _outside_units(ctx, month, f"tax.{fmt}")
    if refused is not None:
        return refused
    from ...reports.month_files import write_month_file as write
    ctx.audit_target, ctx.audit_detail = month, f"tax.{fmt} with the HR file {name}"
    with tempfile.TemporaryDirectory() as folder:
        hr_file = Path(folder) / name
        hr_file.write_bytes(data)
        out = Path(folder) / f"tax-{month}.{fmt}"
        write(ctx.cur, "tax", month, fmt, out, employees=hr_file)
        body = out.read_bytes()
    return Response(body, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f"attachment; filename=tax-{month}.{fmt}"})


routes = [Route("/months", months_page), Route("/month/{month}", month_page),
          Route("/month/{month}/files/tax", tax_file, methods=["POST"]),
          Route("/month/{month}/files/{name}", month_file),
          *[Route(f"/month/{{month}}/{name}", _step(name), methods=["POST"]) for name in workflow.STEPS],
          Route("/month/{month}/close", close, methods=["POST"]),
          Route("/months/run", start_run, methods=["POST"]), Route("/months/import", start_import, methods=["POST"]),
          Route("/jobs/{job_id}", job_page), Route("/month/{month}/review", review_page),
          Route("/month/{month}/review.xlsx", review_xlsx)]
