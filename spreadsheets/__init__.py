"""Reading and writing spreadsheets for every import and export of the ledger.

A top-level package because every app uses it: enterprises (the enterprise list), placement
(rosters, targets) and reports (report tables). Nothing here knows what a worker or an
enterprise is.
"""
