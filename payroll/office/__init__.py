"""The payroll office (issue 18): users, roles and unit scopes, the month's approval workflow, the
hash-chained audit log, the review page's figures and payslip confirmations. All of it is data in the
payroll database; the web application (payroll.web) and the CLI call these functions."""
