"""The signal the ledger's write path sends for data kept in step with it.

placement.services sends `ledger_changed` inside the writing transaction, with `worker_ids`:
workers whose own row or placements were written (one row, or thousands in bulk). Whoever keeps
data derived from workers and placements (the reports' facts) recomputes it there, so that it
commits or rolls back with the change. The sender is Worker; AnnualTarget (with no worker ids)
when targets were written in bulk, so that cached report figures are dropped (reports.cache).
"""

from django.dispatch import Signal

ledger_changed = Signal()
