"""The HR page: find a person, see a month's explanation, compare with another month, download the
payslip. Local and read-only by construction:

- bound to 127.0.0.1 only; GET and HEAD only; the database is opened read-only;
- every text from the database is HTML-escaped; ID numbers are shown masked (the database holds
  only masked ones, and mask_id_number is applied again); a strict Content-Security-Policy (no
  script at all, styles from this server only);
- one request at a time (http.server.HTTPServer, not threading): the DuckDB connection and its
  prepared explain state (`Explainer`) are kept for the life of the server and never shared
  between threads.
"""
from __future__ import annotations

import html
import json
import tempfile
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, quote, urlencode, urlparse

from ..db import connect
from ..engine.context import Month
from ..errors import PayrollError
from ..io.idnumber import mask_id_number
from ..policy import load_policy
from ..reports.compare import Comparison, compare_months, comparison_json
from ..reports.explain import PAYSLIP_SECTIONS, Explainer, Explanation, row_text
from ..reports.payslips import export_payslips

HOST = "127.0.0.1"
STATIC = Path(__file__).resolve().parent / "static"
SEARCH_LIMIT = 50
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def signed(fen: int) -> str:
    text = f"{Decimal(fen) / 100:,.2f}"
    return ("+" + text) if fen > 0 else text


class HrPages:
    """The pages, as functions of the query string; no state but the explainer."""

    def __init__(self, explainer: Explainer):
        self.explainer = explainer
        self.con = explainer.con

    # ---- data
    def search(self, text: str) -> list[tuple]:
        text = text.strip()
        if not text:
            return []
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return self.con.execute(
            "SELECT employee_id, name, id_number_masked, unit FROM employees "
            "WHERE employee_id = ? OR employee_id ILIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\' "
            f"ORDER BY employee_id <> ?, employee_id LIMIT {SEARCH_LIMIT}",
            [text, like, like, text]).fetchall()

    def months_of(self, employee_id: str) -> list[str]:
        return [r[0] for r in self.con.execute(
            "SELECT DISTINCT month FROM payslips WHERE employee_id = ? ORDER BY month", [employee_id]).fetchall()]

    # ---- pages
    def page(self, title: str, body: str) -> str:
        return ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                f"<title>{esc(title)}</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body>"
                "<h1><a href=\"/\">辅警工资查询 Payroll explained</a></h1>"
                "<form action=\"/\" method=\"get\" id=\"search-form\"><label>工号或姓名 ID or name "
                "<input type=\"search\" name=\"q\" id=\"q\" autofocus></label> "
                "<button type=\"submit\" id=\"search\">查找 Find</button></form>"
                f"{body}<p class=\"note\">只读 Read-only. 身份证号已脱敏 ID numbers are masked.</p></body></html>")

    def home(self, query: dict) -> str:
        text = query.get("q", "")
        if not text:
            return self.page("辅警工资查询", "")
        found = self.search(text)
        if not found:
            return self.page("查找 Search", f"<p id=\"no-results\">没有找到 Nobody matches “{esc(text)}”.</p>")
        rows = "".join(
            f"<tr><td><a class=\"person\" href=\"/person?{urlencode({'id': eid})}\">{esc(eid)}</a></td>"
            f"<td>{esc(name)}</td><td>{esc(mask_id_number(idn) if idn else '')}</td><td>{esc(unit)}</td></tr>"
            for eid, name, idn, unit in found)
        more = f"<p class=\"note\">最多显示 {SEARCH_LIMIT} 人 At most {SEARCH_LIMIT} shown.</p>" \
            if len(found) == SEARCH_LIMIT else ""
        return self.page("查找 Search", "<table id=\"results\"><tr><th>工号</th><th>姓名</th><th>身份证号</th>"
                                        f"<th>单位</th></tr>{rows}</table>{more}")

    def person(self, query: dict) -> str:
        employee_id = query.get("id", "")
        months = self.months_of(employee_id)
        if not months:
            raise PayrollError(f"no payslips for {employee_id!r}")
        month = query.get("month") or months[-1]
        if month not in months:
            raise PayrollError(f"{employee_id} has no payslip in {month}")
        explanation = self.explainer.explain(employee_id, month)
        body = [self._month_forms(employee_id, month, months, query.get("compare", ""))]
        download = f"/payslip.xlsx?{urlencode({'id': employee_id, 'month': month})}"
        body.append(f"<p><a id=\"download\" href=\"{esc(download)}\">下载工资条 Download the payslip "
                    f"(XLSX)</a></p>")
        other = query.get("compare")
        if other:
            if other not in months:
                raise PayrollError(f"{employee_id} has no payslip in {other}")
            earlier, later = sorted((month, other))
            body.append(self._comparison_html(compare_months(self.explainer, employee_id, earlier, later)))
        body.append(self._explanation_html(explanation))
        return self.page(f"{employee_id} {month}", "".join(body))

    def _month_forms(self, employee_id: str, month: str, months: list[str], compare: str) -> str:
        def options(selected: str, blank: bool = False) -> str:
            head = "<option value=\"\">—</option>" if blank else ""
            return head + "".join(f"<option value=\"{esc(m)}\"{' selected' if m == selected else ''}>{esc(m)}</option>"
                                  for m in months)
        hidden = f"<input type=\"hidden\" name=\"id\" value=\"{esc(employee_id)}\">"
        return (f"<form action=\"/person\" method=\"get\" id=\"month-form\">{hidden}"
                f"<label>月份 Month <select name=\"month\" id=\"month\">{options(month)}</select></label> "
                f"<label>对比 Compare with <select name=\"compare\" id=\"compare\">{options(compare, True)}</select>"
                f"</label> <button type=\"submit\" id=\"show\">显示 Show</button></form>")

    def _explanation_html(self, explanation: Explanation) -> str:
        p = explanation.person
        out = [f"<h2 id=\"explanation\">工资说明 {esc(explanation.month)}: {esc(p['employee_id'])} {esc(p['name'])}</h2>",
               f"<p>{esc(mask_id_number(p['id_number_masked']) if p['id_number_masked'] else '')} · "
               f"{esc(p['unit'])} · {esc(p['region_code'])} {esc(explanation.region_name)} · "
               f"层级 level {esc(p['level'])} · 岗位 post {esc(p['post'])}</p>"]
        out.append("<p id=\"check\" class=\"note\">核对 Check: every amount equals the stored payslip.</p>"
                   if not explanation.mismatches else
                   f"<p id=\"check\" class=\"warn\">{esc('; '.join(explanation.mismatches))}</p>")
        out.append("<table id=\"payslip\"><tr><th>项目</th><th>Item</th><th>金额 Amount</th></tr>")
        for zh, en, names in PAYSLIP_SECTIONS:
            out.append(f"<tr><th colspan=\"3\">{esc(zh)} {esc(en)}</th></tr>")
            for name in names:
                line = explanation.by_name[name]
                total = " class=\"total\"" if name in ("gross_pay", "net_pay") else ""
                out.append(f"<tr{total} data-line=\"{esc(name)}\"><td>{esc(line.label_zh)}</td><td>{esc(line.label_en)}</td>"
                           f"<td class=\"money\">{esc(line.shown)}</td></tr>")
        out.append("</table><h2>计算过程 How each line is computed</h2><table id=\"lines\"><tr><th>项目 Item</th>"
                   "<th>数值 Value</th><th>公式 Formula</th><th>依据 Basis</th><th>所用表行 Table rows</th></tr>")
        for line in explanation.rule_lines:
            rows = "<br>".join(esc(row_text(r)) for r in line.rows)
            out.append(f"<tr><td>{esc(line.label_zh)}<br>{esc(line.label_en)}</td><td class=\"money\">{esc(line.shown)}</td>"
                       f"<td>{esc(line.formula)}</td><td>{esc(line.basis)}</td><td class=\"rows\">{rows}</td></tr>")
        out.append("</table><h2>输入 Inputs</h2><table id=\"inputs\">")
        for line in explanation.input_lines:
            out.append(f"<tr><td>{esc(line.label_zh)} {esc(line.label_en)}</td><td>{esc(line.shown)}</td></tr>")
        return "".join(out) + "</table>"

    def _comparison_html(self, comparison: Comparison) -> str:
        out = [f"<h2 id=\"comparison\">工资变动 {esc(comparison.month_a)} → {esc(comparison.month_b)}: "
               f"实发 net pay {esc(f'{Decimal(comparison.net_a) / 100:,.2f}')} → "
               f"{esc(f'{Decimal(comparison.net_b) / 100:,.2f}')} (<span id=\"net-change\">"
               f"{esc(signed(comparison.net_change))}</span>)</h2>",
               "<table id=\"causes\"><tr><th>原因 Cause</th><th>实发变动 Net change</th><th>说明 Details</th></tr>"]
        labels = {line["name"]: f"{line['label_zh']} {line['label_en']}" for line in comparison.lines}
        for cause in comparison.causes:
            details = cause.details + [f"{labels[n]}: {signed(d)}" for n, d in cause.line_deltas.items()
                                       if n != "net_pay"] + [f"({t})" for t in cause.intermediate]
            out.append(f"<tr data-cause=\"{esc(cause.key)}\"><td>{esc(cause.label_zh)}<br>{esc(cause.label_en)}</td>"
                       f"<td class=\"money\">{esc(signed(cause.net_delta))}</td>"
                       f"<td>{'<br>'.join(esc(d) for d in details)}</td></tr>")
        total = sum(c.net_delta for c in comparison.causes)
        out.append(f"<tr class=\"total\"><td>合计 Total</td><td class=\"money\" id=\"causes-total\">{esc(signed(total))}"
                   "</td><td></td></tr></table>")
        if comparison.tax_note:
            out.append(f"<p id=\"tax-note\">{esc(comparison.tax_note)}</p>")
        return "".join(out)

    def payslip_file(self, query: dict) -> tuple[bytes, str]:
        employee_id, month = query.get("id", ""), query.get("month", "")
        Month.parse(month)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "payslip.xlsx"
            export_payslips(self.con, month, path, employee_id=employee_id)
            return path.read_bytes(), f"payslip-{employee_id}-{month}.xlsx"

    def api(self, path: str, query: dict) -> str:
        employee_id, month = query.get("id", ""), query.get("month", "")
        if path == "/api/explain":
            return json.dumps(self.explainer.explain(employee_id, month).to_dict(), ensure_ascii=False)
        earlier, later = sorted((month, query.get("compare", "")))
        return comparison_json(compare_months(self.explainer, employee_id, earlier, later))


def make_handler(pages: HrPages, log: Callable[[str], None] | None = None):
    class Handler(BaseHTTPRequestHandler):
        server_version = "fujing-payroll"
        sys_version = ""

        def log_message(self, format: str, *args) -> None:       # noqa: A002 - http.server's name
            if log:
                log(f"{self.address_string()} {format % args}")

        def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
            self.send_response(status)
            headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **SECURITY_HEADERS,
                       **(extra or {})}
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:                              # noqa: N802 - http.server's name
            self.do_GET()

        def do_GET(self) -> None:                               # noqa: N802
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            try:
                if url.path == "/":
                    self._html(pages.home(query))
                elif url.path == "/person":
                    self._html(pages.person(query))
                elif url.path == "/payslip.xlsx":
                    body, name = pages.payslip_file(query)
                    self._send(200, body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
                elif url.path in ("/api/explain", "/api/compare"):
                    self._send(200, pages.api(url.path, query).encode(), "application/json; charset=utf-8")
                elif url.path == "/static/style.css":
                    self._send(200, (STATIC / "style.css").read_bytes(), "text/css; charset=utf-8")
                else:
                    self._html(pages.page("Not found", "<p>Not found.</p>"), HTTPStatus.NOT_FOUND)
            except PayrollError as error:
                self._html(pages.page("Error", f"<p class=\"warn\" id=\"error\">{esc(error)}</p>"),
                           HTTPStatus.NOT_FOUND)
            except Exception as error:                           # keep serving; say what failed
                if log:
                    log(f"internal error on {url.path}: {error!r}")
                self._html(pages.page("Error", "<p class=\"warn\" id=\"error\">internal error</p>"),
                           HTTPStatus.INTERNAL_SERVER_ERROR)

        def _html(self, text: str, status: int = HTTPStatus.OK) -> None:
            self._send(status, text.encode("utf-8"), "text/html; charset=utf-8")

        def _refuse(self) -> None:
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"read-only", "text/plain", {"Allow": "GET, HEAD"})

        do_POST = do_PUT = do_DELETE = do_PATCH = _refuse      # noqa: N815

    return Handler


def make_server(db: str | None, tables: str | None, port: int = 0,
                log: Callable[[str], None] | None = None) -> HTTPServer:
    """The server on 127.0.0.1:port (0: any free port), not yet serving."""
    explainer = Explainer(connect(db, read_only=True), load_policy(tables))
    return HTTPServer((HOST, port), make_handler(HrPages(explainer), log))


def serve(db: str | None, tables: str | None, port: int, log: Callable[[str], None] = print) -> None:
    server = make_server(db, tables, port, log)
    log(f"serving on http://{HOST}:{server.server_address[1]}/ (read-only; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
