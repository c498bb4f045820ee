"""Monthly returns (月报): a region's report figures for a month, frozen when generated, with
the workers behind every count, sent up the chain (county → city → province) and approved.

models.py (the return, its lines, its workers, its state changes), services.py (the flow),
selectors.py (consolidation inputs, drill-down, published against live, deadlines), exports.py
(the form as .xlsx), views.py and urls.py (the pages).
"""
