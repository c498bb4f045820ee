"""Signals the enterprises app sends for what apps above it keep in step (it knows nothing of
workers itself)."""

from django.dispatch import Signal

# Sent inside the writing transaction with `enterprises`: enterprises whose diversion date
# (分流安置方案实施日期) was changed, by the admin or an import. A receiver may answer with a
# sentence for the user (how many workers followed the date).
enterprise_diversion_dates_changed = Signal()

# Sent inside the writing transaction by writes that send no post_save (an import's bulk
# writes), with `enterprise_ids` (those written, and the groups changed ones left) and
# `region_ids` (their regions now and before): the reports' cache refreshes their scopes.
enterprises_written = Signal()
