"""ISO dates in inputs and on pages (see config/formats/__init__.py)."""

from config.formats import (  # noqa: F401
    DATE_FORMAT,
    DATE_INPUT_FORMATS,
    DATETIME_INPUT_FORMATS,
    SHORT_DATE_FORMAT,
)
