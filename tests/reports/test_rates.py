import datetime
from decimal import Decimal

import pytest

from reports import rates


def test_article_placement_rate_is_99_97():
    assert rates.placement_rate(placed=21_006, to_place=21_012) == Decimal("99.97")


def test_article_target_completion_is_46_2():
    assert rates.target_completion(placed_in_year=9_840, target=21_299) == Decimal("46.2")


def test_rounding_is_half_up_once():
    # 1/800 = 0.125%: half up gives 0.13 (banker's rounding would give 0.12).
    assert rates.percent(1, 800, places=2) == Decimal("0.13")
    # 1/16 = 6.25%: one decimal half up is 6.3.
    assert rates.share(part=1, whole=16) == Decimal("6.3")
    # 2/3 stays 66.67, not 66.66 or 66.7.
    assert rates.placement_rate(placed=2, to_place=3) == Decimal("66.67")


def test_missing_or_zero_target_gives_no_completion():
    assert rates.target_completion(placed_in_year=5, target=None) is None
    assert rates.target_completion(placed_in_year=5, target=0) is None
    assert rates.as_text(None) == "—"
    assert rates.as_json(None) is None


def test_nobody_to_place_gives_no_rate():
    assert rates.placement_rate(placed=0, to_place=0) is None


def test_elapsed_share_counts_the_as_of_day():
    assert rates.elapsed_share(year=2017, as_of=datetime.date(2017, 6, 30)) == Decimal("49.6")
    assert rates.elapsed_share(year=2017, as_of=datetime.date(2017, 1, 1)) == Decimal("0.3")
    assert rates.elapsed_share(year=2017, as_of=datetime.date(2017, 12, 31)) == Decimal("100.0")


def test_elapsed_share_of_a_leap_year_divides_by_366():
    # 2016-06-30 is day 182 of 366.
    assert rates.elapsed_share(year=2016, as_of=datetime.date(2016, 6, 30)) == Decimal("49.7")


def test_elapsed_share_outside_the_year_is_zero_or_whole():
    assert rates.elapsed_share(year=2017, as_of=datetime.date(2016, 12, 31)) == Decimal("0.0")
    assert rates.elapsed_share(year=2016, as_of=datetime.date(2017, 3, 1)) == Decimal("100.0")


def test_json_rates_are_strings():
    assert rates.as_json(Decimal("99.97")) == "99.97"
    assert rates.as_text(Decimal("46.2")) == "46.2"


@pytest.mark.parametrize(
    ("highest", "top"), [(0, 4), (10, 12), (318, 320), (866, 1000), (21299, 24000)]
)
def test_the_chart_axis_ends_on_a_value_whose_quarters_are_round(highest, top):
    from reports.charts import _nice_ceiling

    assert _nice_ceiling(highest) == top
    assert top % 4 == 0


def test_bar_labels_get_room_for_the_longest_name_in_either_language():
    import re

    from reports.charts import channel_bars, text_width
    from reports.selectors import ShareRow

    rows = [
        ShareRow("a", "内部退养", 3, None),
        ShareRow("b", "Internal (early) retirement", 1, None),
    ]
    svg = str(channel_bars(rows, title="t"))
    bar_x = float(re.search(r'<rect class="chart-bar" x="([\d.]+)"', svg).group(1))
    assert bar_x >= text_width("Internal (early) retirement") > text_width("内部退养")
