"""The signal the ledger's write path sends for data kept in step with it.

placement.services sends `ledger_changed` inside the writing transaction, with
- `worker_ids`: workers whose own row or placements were written (one row, or thousands in bulk).
  Whoever keeps data derived from workers and placements (the reports' facts) recomputes it
  there, so that it commits or rolls back with the change;
- `enterprise_ids`, `region_ids` (optional): enterprises and regions whose own data changed
  without any worker's (their targets, written in bulk).
The sender is Worker, or AnnualTarget for targets written in bulk (no worker ids). The reports'
cached figures (reports.cache) are refreshed for the scopes containing what changed: the
workers' enterprises (read at commit), these enterprises and these regions.
"""

from django.dispatch import Signal

ledger_changed = Signal()
