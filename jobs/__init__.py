"""Background jobs of the ledger: spreadsheet imports (check, then write) and large exports, on
django-tasks' database queue (README, "Background jobs"). Knows no domain: an import or export
job names the admin that runs it, and that admin's import service does the work."""
