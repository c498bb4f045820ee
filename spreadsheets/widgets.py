"""django-import-export widgets for cells as offices type them. `clean` raises ValueError with a
message for the user; `render` writes what the importer reads back unchanged (round trip)."""

import datetime

from django.utils.translation import gettext_lazy as _
from import_export import widgets

from .formulas import unescape_formula
from .readers import MonthDate, parse_date

DATE_UNREADABLE = _(
    "日期无法识别：“%(value)s”；可写作 1970-05-01、1970/5/1、1970.05 或 1970年5月，"
    "或使用表格软件的日期格式"
)
TEXT_TOO_LONG = _("内容太长：最多 %(limit)s 个字")
YES_NO_UNREADABLE = _("只能填“是”或“否”，不能是“%(value)s”")
CHOICE_UNKNOWN = _("“%(value)s”不是可选的值；可选：%(choices)s")
NUMBER_UNREADABLE = _("应为整数，不能是“%(value)s”")


def _as_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class TextWidget(widgets.CharWidget):
    """Text with a length limit; a number cell becomes its digits; the apostrophe that an export
    put before a formula-like value is taken off again."""

    def __init__(self, max_length: int | None = None, **kwargs):
        self.max_length = max_length
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return ""
        text = unescape_formula(_as_text(value))
        if self.max_length and len(text) > self.max_length:
            raise ValueError(TEXT_TOO_LONG % {"limit": self.max_length})
        return text

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class LedgerDateWidget(widgets.DateWidget):
    """Excel dates (reduced to dates, so that unchanged rows are recognised, PITFALLS.md) and the
    text forms rosters use; a month-only value comes back as a MonthDate."""

    def clean(self, value, row=None, **kwargs):
        try:
            return parse_date(value)
        except ValueError:
            raise ValueError(DATE_UNREADABLE % {"value": value}) from None

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        if isinstance(value, MonthDate):
            return f"{value.year}-{value.month:02d}"
        if isinstance(value, datetime.date):
            return value.isoformat()
        return str(value)


YES = {"是", "y", "yes", "true", "1", "√", "✓", "有"}
NO = {"否", "n", "no", "false", "0", "×", "无", "不是"}


class YesNoWidget(widgets.BooleanWidget):
    """是/否 (also yes/no, 1/0, √); a blank cell is "no"."""

    def clean(self, value, row=None, **kwargs):
        if value is None or value == "":
            return False
        if isinstance(value, bool):
            return value
        key = _as_text(value).strip().lower()
        if key in YES:
            return True
        if key in NO:
            return False
        raise ValueError(YES_NO_UNREADABLE % {"value": value})

    def render(self, value, obj=None, **kwargs):
        return str(_("是")) if value else str(_("否"))


class ChoiceLabelWidget(widgets.Widget):
    """A TextChoices value given by its Chinese label, its English label or its code."""

    def __init__(self, choices, *, aliases: dict[str, str] | None = None, blank=None, **kwargs):
        self.choices = choices
        self.aliases = aliases or {}
        self.blank = blank
        self._lookup: dict[str, str] | None = None
        super().__init__(**kwargs)

    def lookup(self) -> dict[str, str]:
        if self._lookup is None:
            from django.utils import translation

            table = {}
            for member in self.choices:
                table[member.value.lower()] = member.value
                for language in ("zh-hans", "en"):
                    with translation.override(language):
                        table["".join(str(member.label).split()).lower()] = member.value
            table.update({key.lower(): code for key, code in self.aliases.items()})
            self._lookup = table
        return self._lookup

    def clean(self, value, row=None, **kwargs):
        if value is None or value == "":
            return self.blank
        code = self.lookup().get("".join(_as_text(value).split()).lower())
        if code is None:
            names = "、".join(str(member.label) for member in self.choices)
            raise ValueError(CHOICE_UNKNOWN % {"value": value, "choices": names})
        return code

    def render(self, value, obj=None, **kwargs):
        if not value:
            return ""
        return str(self.choices(value).label)


class IntegerWidget(widgets.IntegerWidget):
    """A whole number (a count of workers, a year)."""

    def clean(self, value, row=None, **kwargs):
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        text = _as_text(value).replace(",", "")
        if text.isdigit():
            return int(text)
        raise ValueError(NUMBER_UNREADABLE % {"value": value})

    def render(self, value, obj=None, **kwargs):
        return value
