"""`payroll serve`: a local, read-only web page for HR (stdlib http.server, no other dependency)."""
