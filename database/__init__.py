"""Database upkeep that every app shares and that knows no domain: planner statistics after bulk
writes (analyze.py). A top-level package, like spreadsheets/ and audit/, because the imports,
the demo and the report facts all call it."""
