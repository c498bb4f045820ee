"""Reading and writing spreadsheets for every import and export of the ledger.

It lives in enterprises, the lowest app, because both enterprises (the enterprise list) and
placement (rosters, targets) import spreadsheets and imports only point downward (STYLE.md).
Nothing here knows what a worker or an enterprise is.
"""
