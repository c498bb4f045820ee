"""Date input formats that read the same in Chinese and English (FORMAT_MODULE_PATH).

Django's Chinese formats write a date into an input as 2017/12/31 and its English ones as
2017-12-31 but also accept 12/31/2017; the admin's date fields and its calendar follow the first
input format. Both languages here write ISO dates (2017-12-31) and accept no month-first date,
so a date typed in one language means the same in the other. Dates shown on pages are ISO too
(the report pages already wrote them so): a worker's page showed 1990年6月15日 beside 2053-06-15.
"""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"

DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # 2017-12-31: written into every date input
    "%Y/%m/%d",  # 2017/12/31
    "%Y.%m.%d",  # 2017.12.31
    "%Y年%m月%d日",  # 2017年12月31日
]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
]
