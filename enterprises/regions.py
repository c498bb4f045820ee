"""Building the region table from the national division table that python-stdnum ships.

stdnum's cn/loc table lists every GB/T 2260 code with the years it was in use, e.g.
"[1983-1997]南城区". A region is current when its last period has no end year.
"""

import re

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from stdnum import numdb

from .models import Region

REGION_AMBIGUOUS = _("地区名称“%(value)s”不唯一，请填写 6 位行政区划代码")


class RegionAmbiguous(LookupError):
    """A region name that several regions share (e.g. 城区, 郊区): the code must be given."""


class RegionIndex:
    """Regions by their GB/T 2260 code or their name, read once for a whole file (the enterprise
    and target imports refer to a region by either)."""

    def __init__(self, regions):
        self.by_code: dict[str, Region] = {}
        self.by_name: dict[str, list[Region]] = {}
        for region in regions:
            self.by_code[region.code] = region
            self.by_name.setdefault(region.name, []).append(region)

    def find(self, value: str) -> Region | None:
        """The region with this code, else with this name; None when there is none, and
        RegionAmbiguous when the name is not unique."""
        if value in self.by_code:
            return self.by_code[value]
        found = self.by_name.get(value, [])
        if len(found) > 1:
            raise RegionAmbiguous(value)
        return found[0] if found else None


_PERIOD = re.compile(r"^\[(?P<start>\d*)-(?P<end>\d*)\](?P<name>.+)$")


def _current_name(raw: str) -> str | None:
    """The region's current name, or None when the code is no longer in use."""
    for part in raw.split(","):
        match = _PERIOD.match(part)
        if match is None:
            return part
        if not match["end"]:
            return match["name"]
    return None


def division_table(province_code: str) -> list[tuple[str, str]]:
    """Current (code, name) pairs of a province, its cities and counties, in code order."""
    rows = []
    for _length, low, _high, props, children in numdb.get("cn/loc").prefixes:
        if low != province_code:
            continue
        for _l, suffix, _h, child_props, _c in children:
            name = _current_name(child_props.get("county", ""))
            if name is None or name == "市辖区":
                continue
            rows.append((province_code + suffix, name if suffix != "0000" else props["province"]))
    return rows


def region_level(code: str) -> str:
    if code.endswith("0000"):
        return Region.Level.PROVINCE
    if code.endswith("00"):
        return Region.Level.CITY
    return Region.Level.COUNTY


@transaction.atomic
def regions_load(*, province_code: str = "14") -> int:
    """Create or rename the province's current regions; returns how many rows were written."""
    written = 0
    by_code = {}
    for code, name in division_table(province_code):
        level = region_level(code)
        if level == Region.Level.PROVINCE:
            parent = None
        elif level == Region.Level.CITY:
            parent = by_code.get(code[:2] + "0000")
        else:
            # Counties directly administered by the province (省直辖) have no city parent.
            parent = by_code.get(code[:4] + "00") or by_code.get(code[:2] + "0000")
        region, created = Region.objects.update_or_create(
            code=code, defaults={"name": name, "level": level, "parent": parent}
        )
        by_code[code] = region
        written += 1 if created else 0
    return written


def national_province_codes() -> list[str]:
    """The two-digit codes of the 31 provinces, autonomous regions and municipalities of the
    mainland (the table's one-line entries for Taiwan, Hong Kong and Macao have no divisions)."""
    return [
        low
        for _length, low, _high, _props, children in numdb.get("cn/loc").prefixes
        if len(children) > 1 and low < "70"
    ]
