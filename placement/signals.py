"""Signals the ledger sends for writes that Django's model signals do not see.

Bulk writes (an import's upserts) call no save(), so post_save never fires; whoever keeps data
derived from workers and placements (the reports' facts) listens here instead. The sender is
the model whose rows were written.
"""

from django.dispatch import Signal

# Sent inside the writing transaction with `worker_ids`: workers whose own row or placements
# were written in bulk; `new=True` for workers inserted by this write.
workers_bulk_changed = Signal()

# Sent after a bulk load has committed (the demo seeder), with `rows`, the number of workers
# written: data derived from the ledger brings itself up to date now, in the same command, so
# that the first report after the load does not do it.
ledger_bulk_loaded = Signal()
