"""Audit history shared by every app: who changed a record, when and from where."""
