"""Signals the enterprises app sends for what apps above it keep in step (it knows nothing of
workers itself)."""

from django.dispatch import Signal

# Sent inside the writing transaction with `enterprises`: enterprises whose diversion date
# (分流安置方案实施日期) was changed, by the admin or an import. A receiver may answer with a
# sentence for the user (how many workers followed the date).
enterprise_diversion_dates_changed = Signal()
