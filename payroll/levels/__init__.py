"""Appraisal, levels and pay structure (issue 16): level rules, proposals, applying them, the path."""
