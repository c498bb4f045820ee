"""A synthetic demo province modelled on the source article (Shanxi, 2016-2017).

Everything here is invented: names read 王演示000123, ID numbers are generated with valid check
digits and Shanxi region codes, credit codes with valid check digits. Rows are written in bulk
(no per-row validation) because `seed_demo --workers 500000` must take minutes; the generator
itself keeps every rule (internal retirement only inside the window, dates in order, no future).
"""

import datetime
import itertools
import random
from dataclasses import dataclass

from django.db import transaction
from stdnum.cn import uscc

from access.actors import DEMO
from database.analyze import tables_analyze
from enterprises.models import Enterprise, Region
from enterprises.regions import national_province_codes, regions_load

from . import idnumbers, retirement, services
from .channels import Channel
from .models import AnnualTarget, Placement, Worker

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
)

# The three groups the article names, with mines of theirs (city code for where each sits).
GROUPS = [
    (
        "山西焦煤集团有限责任公司",
        "140100",
        [
            ("西山煤电（集团）有限责任公司白家庄矿", "140100"),
            ("汾西矿业（集团）有限责任公司张家庄矿", "140700"),
            ("霍州煤电集团有限责任公司圣佛矿", "141000"),
            ("山西焦煤集团有限责任公司东曲矿（演示）", "140100"),
        ],
    ),
    (
        "大同煤矿集团有限责任公司",
        "140200",
        [
            ("同煤集团忻州窑矿", "140200"),
            ("同煤集团永定庄矿", "140200"),
            ("同煤集团雁崖矿", "140200"),
        ],
    ),
    (
        "山西晋城无烟煤矿业集团有限责任公司",
        "140500",
        [
            ("晋煤集团古书院矿", "140500"),
            ("晋煤集团王台铺矿", "140500"),
            ("晋煤集团凤凰山矿", "140500"),
        ],
    ),
]

# Channel weights, roughly as the article tells it: most placed internally or by transfer.
CHANNEL_WEIGHTS = [
    (Channel.INTERNAL_TRANSFER, 34),
    (Channel.TRAINING_TRANSFER, 10),
    (Channel.INTERNAL_RETIREMENT, 16),
    (Channel.OUTSIDE_DIVERSION, 10),
    (Channel.TRANSFER_EMPLOYMENT, 9),
    (Channel.SELF_EMPLOYMENT, 6),
    (Channel.FLEXIBLE_EMPLOYMENT, 7),
    (Channel.ENTREPRENEURSHIP, 3),
    (Channel.PUBLIC_WELFARE_POST, 5),
]
# The years the demo's enterprises divert workers in; each city has workers and a target in each.
DEMO_YEARS = (2016, 2017)
# `seed_demo --national`: the whole programme, 2016-2020, over the 31 provinces.
NATIONAL_YEARS = (2016, 2017, 2018, 2019, 2020)
NATIONAL_ENTERPRISES = 3000
# Provinces' shares of the national demo's enterprises (and so of its workers), roughly where the
# coal and steel capacity was cut; a province not named here weighs 1.
PROVINCE_WEIGHTS = {
    "14": 10, "13": 9, "15": 6, "41": 6, "37": 5, "61": 5, "23": 5, "52": 5, "51": 4, "34": 4,
    "21": 4, "22": 3, "43": 3, "50": 3, "53": 3, "32": 3, "36": 3, "62": 2, "65": 2, "64": 2,
    "42": 2, "45": 2, "35": 2,
}  # fmt: skip
# The first workers of each (city, year): this many each, the first of them still waiting at the
# end of the year (so that every city's pending count and stragglers show something).
COVERAGE_WORKERS = 3
POSTS = ["采煤工", "掘进工", "机电工", "通风工", "运输工", "安全检查工", "炼铁工", "轧钢工", "后勤"]
BATCH = 5000


@dataclass
class DemoSummary:
    enterprises: int
    workers: int
    placements: int
    targets: int


def credit_code(region_code: str, serial: int) -> str:
    """A synthetic but valid unified social credit code (9 = enterprise, 1 = company)."""
    body = f"91{region_code}{serial:09d}"
    return body + uscc.calc_check_digit(body + "0")


def _random_date(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def _enterprises(
    rng: random.Random, count: int, *, years: tuple[int, ...], national: bool
) -> list[Enterprise]:
    """The named groups and mines, then synthetic mines and steel plants up to `count`."""
    regions = {r.code: r for r in Region.objects.all()}
    counties = [r for r in regions.values() if r.level == Region.Level.COUNTY]
    serial = 1
    made: list[Enterprise] = []

    def make(name, region, industry, parent=None, year=2016):
        nonlocal serial
        enterprise = Enterprise.objects.create(
            name=name,
            credit_code=credit_code(region.code, serial),
            industry=industry,
            region=region,
            parent=parent,
            reduction_year=year,
            capacity_to_cut=rng.choice([45, 60, 90, 120, 150, 210]),
            plan_text="一企一策：内部安置、转岗培训、内部退养、转移就业并举（演示）",
            plan_reviewed_on=datetime.date(year - 1, 12, rng.randint(1, 28)),
        )
        serial += 1
        return enterprise

    for group_name, city_code, mines in GROUPS:
        group = make(group_name, regions[city_code], Enterprise.Industry.COAL)
        for mine_name, mine_city in mines:
            county = rng.choice([c for c in counties if c.code.startswith(mine_city[:4])])
            made.append(make(mine_name, county, Enterprise.Industry.COAL, group))
    index = 1

    def make_synthetic(county, year):
        nonlocal index
        steel = index % 6 == 0
        name = f"{county.name}{'演示钢铁厂' if steel else '演示煤矿'}{index:03d}"
        industry = Enterprise.Industry.STEEL if steel else Enterprise.Industry.COAL
        made.append(make(name, county, industry, year=year))
        index += 1

    # First one enterprise in every city (nationally: every province) for every demo year that
    # has none yet, so that no city's row or chart is empty in any year.
    covered = {(_coverage_key(e, national), e.reduction_year) for e in made}
    level = Region.Level.PROVINCE if national else Region.Level.CITY
    for code in sorted(r.code for r in regions.values() if r.level == level):
        prefix = code[:2] if national else code[:4]
        inside = [c for c in counties if c.code.startswith(prefix)]
        if not inside:
            continue
        for year in years:
            if (code, year) not in covered:
                make_synthetic(inside[index % len(inside)], year)
    if national:
        # A province's share of the rest by its weight, then a county of it at random.
        by_province: dict[str, list[Region]] = {}
        for county in counties:
            by_province.setdefault(county.code[:2], []).append(county)
        provinces = sorted(by_province)
        weights = [PROVINCE_WEIGHTS.get(code, 1) for code in provinces]
        while len(made) < count:
            province = rng.choices(provinces, weights)[0]
            make_synthetic(rng.choice(by_province[province]), years[index % len(years)])
        return made
    while len(made) < count:
        # Step through the counties so that every city soon has more enterprises of its own.
        make_synthetic(counties[(index * 37) % len(counties)], years[index % 2])
    return made


def _city_code(enterprise: Enterprise) -> str:
    return enterprise.region.code[:4] + "00"


def _coverage_key(enterprise: Enterprise, national: bool) -> str:
    """The region each demo year must have workers in: the city, nationally the province."""
    if national:
        return enterprise.region.code[:2] + "0000"
    return _city_code(enterprise)


def _coverage(made: list[Enterprise], national: bool) -> list[Enterprise]:
    """One enterprise for each (city or province, demo year): the first workers go to these in
    turn."""
    first: dict[tuple[str, int], Enterprise] = {}
    for enterprise in made:
        first.setdefault(
            (_coverage_key(enterprise, national), enterprise.reduction_year), enterprise
        )
    return [first[key] for key in sorted(first)]


def _id_numbers(
    rng: random.Random, county_codes: list[str], birth: datetime.date, male: bool, seen: set[int]
) -> str:
    while True:
        sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
        body = f"{rng.choice(county_codes)}{birth:%Y%m%d}{sequence:03d}"
        # The 17-digit body as an integer: a set of 2,000,000 of them takes a third of the
        # memory of the strings (the check digit follows from the body).
        if int(body) not in seen:
            seen.add(int(body))
            return idnumbers.with_check_digit(body)


def _channel_for(rng, channels, weights, placed_on, birth, sex, cadre) -> str:
    channel = rng.choices(channels, weights)[0]
    if channel == Channel.INTERNAL_RETIREMENT:
        retires = retirement.statutory_retirement_date(
            birth_date=birth, sex=sex, cadre=cadre, special_work_type=False
        )
        if not retirement.internal_retirement_allowed(retirement_date=retires, on=placed_on):
            channel = Channel.INTERNAL_TRANSFER
    return channel


@transaction.atomic
def demo_build(
    *,
    workers: int,
    seed: int = 2016,
    enterprises: int | None = None,
    national: bool = False,
    progress=None,
) -> DemoSummary:
    """Build the demo province (or, `national`, the 31 provinces over 2016-2020): groups and
    mines, workers, placements and targets."""
    rng = random.Random(seed)
    years = NATIONAL_YEARS if national else DEMO_YEARS
    if national:
        for province_code in national_province_codes():
            regions_load(province_code=province_code)
        enterprise_count = enterprises or NATIONAL_ENTERPRISES
    else:
        enterprise_count = enterprises or min(300, max(24, workers // 1600))
    made = _enterprises(rng, enterprise_count, years=years, national=national)
    county_codes = list(
        Region.objects.filter(level=Region.Level.COUNTY).values_list("code", flat=True)
    )
    channels = [c for c, _w in CHANNEL_WEIGHTS]
    weights = [w for _c, w in CHANNEL_WEIGHTS]
    seen: set[int] = set()
    placed_by_city_year: dict[tuple[str, int], int] = {}
    to_place_by_city_year: dict[tuple[str, int], int] = {}
    # Enterprises differ in size: weight them so a few are large, like real mines.
    enterprise_weights = [rng.uniform(0.3, 3.0) for _ in made]
    # Cumulated once: `choices` with plain weights adds them all up again on every call
    # (3,000 additions per worker nationally); the draws are the same.
    cumulative_weights = list(itertools.accumulate(enterprise_weights))
    coverage = _coverage(made, national)

    def batches():
        # Generated a batch at a time and written by the ledger's bulk service as it goes.
        done = 0
        while done < workers:
            size = min(BATCH, workers - done)
            rows = []
            plans = []
            for _ in range(size):
                serial = done + len(rows)
                if serial < len(coverage) * COVERAGE_WORKERS:
                    enterprise = coverage[serial % len(coverage)]
                else:
                    enterprise = rng.choices(made, cum_weights=cumulative_weights)[0]
                year = enterprise.reduction_year or years[0]
                male = rng.random() < 0.82
                # Some older workers, so that internal retirement has candidates.
                birth = _random_date(
                    rng,
                    datetime.date(1956 if male else 1966, 1, 1),
                    datetime.date(1994, 12, 31),
                )
                number = _id_numbers(rng, county_codes, birth, male, seen)
                registered = _random_date(
                    rng, datetime.date(year, 1, 4), datetime.date(year, 5, 31)
                )
                cadre = rng.random() < 0.12
                worker = Worker(
                    enterprise=enterprise,
                    name=f"{rng.choice(SURNAMES)}演示{serial + 1:06d}",
                    sex="M" if male else "F",
                    birth_date=birth,
                    post=rng.choice(POSTS),
                    status=Worker.Status.CADRE if cadre else Worker.Status.WORKER,
                    special_work_type=False,
                    hire_date=retirement.add_months(birth, 12 * 19 + rng.randrange(24)),
                    phone=f"13{rng.randrange(10**9):09d}",
                    employment_difficulty=rng.random() < 0.05,
                    diversion_year=year,
                    registered_on=registered,
                    id_number_digest=idnumbers.digest(number),
                    id_number_cipher=idnumbers.encrypt(number),
                )
                rows.append(worker)
                city = _city_code(enterprise)
                to_place_by_city_year[(city, year)] = to_place_by_city_year.get((city, year), 0) + 1
                waiting_at_year_end = serial < len(coverage)
                # About one in 300 is still waiting; the rest are placed within the year or the
                # next. A city's first worker of the last demo year is still waiting; of an
                # earlier year, placed the next year.
                if rng.random() < 1 / 300 or (waiting_at_year_end and year == years[-1]):
                    plans.append(None)
                    continue
                placed_on = _random_date(
                    rng, registered + datetime.timedelta(days=20), datetime.date(year, 12, 28)
                )
                if rng.random() < 0.04 or waiting_at_year_end:
                    placed_on = _random_date(
                        rng, datetime.date(year + 1, 1, 5), datetime.date(year + 1, 11, 30)
                    )
                sex = "M" if male else "F"
                channel = _channel_for(rng, channels, weights, placed_on, birth, sex, cadre)
                plans.append((placed_on, channel))
                key = (city, placed_on.year)
                placed_by_city_year[key] = placed_by_city_year.get(key, 0) + 1
            placements = []
            for worker, plan in zip(rows, plans, strict=True):
                if plan is None:
                    continue
                placed_on, channel = plan
                if channel == Channel.FLEXIBLE_EMPLOYMENT and rng.random() < 0.15:
                    # A flexible job that ended, followed by a fallback public-welfare post.
                    ended = placed_on + datetime.timedelta(days=rng.randint(60, 200))
                    placements.append(
                        Placement(
                            worker=worker,
                            channel=channel,
                            placed_on=placed_on,
                            ended_on=ended,
                            destination_unit="个体经营（演示）",
                        )
                    )
                    placements.append(
                        Placement(
                            worker=worker,
                            channel=Channel.PUBLIC_WELFARE_POST,
                            placed_on=ended,
                            destination_unit=f"{worker.enterprise.region.name}公益性岗位（演示）",
                        )
                    )
                    continue
                placements.append(
                    Placement(
                        worker=worker,
                        channel=channel,
                        placed_on=placed_on,
                        destination_unit=_destination(rng, channel, worker.enterprise),
                        employed_elsewhere_insured_at_home=channel == Channel.TRANSFER_EMPLOYMENT
                        and rng.random() < 0.5,
                    )
                )
            yield rows, placements
            done += size
            if progress:
                progress(done, workers)

    _written, total_placements = services.workers_bulk_register(
        batches=batches(), actor=DEMO, source="", history=False
    )
    targets = _targets(rng, to_place_by_city_year)
    # Once committed: statistics for the regions and enterprises the reports join (the bulk
    # services ask for those of the tables they wrote, the facts included), so that the first
    # report after `seed_demo` is as fast as any other.
    tables_analyze(models=[Region, Enterprise, AnnualTarget], rows=workers + total_placements)
    return DemoSummary(len(made), workers, total_placements, targets)


def _destination(rng, channel, enterprise) -> str:
    if channel in (
        Channel.INTERNAL_TRANSFER,
        Channel.TRAINING_TRANSFER,
        Channel.INTERNAL_RETIREMENT,
    ):
        return (enterprise.parent or enterprise).name
    if channel == Channel.TRANSFER_EMPLOYMENT:
        return rng.choice(
            ["天津市劳务协作单位（演示）", "上海市劳务协作单位（演示）", "网约车平台（演示）"]
        )
    if channel == Channel.PUBLIC_WELFARE_POST:
        return f"{enterprise.region.name}公益性岗位（演示）"
    return ""


def _targets(rng, to_place_by_city_year) -> int:
    """A target per city and year near the workers diverted there, and each province's sum
    (a municipality's districts have no city between them and the province: only its sum)."""
    cities = {r.code: r for r in Region.objects.filter(level=Region.Level.CITY)}
    provinces = {r.code: r for r in Region.objects.filter(level=Region.Level.PROVINCE)}
    rows = []
    by_province_year: dict[tuple[str, int], int] = {}
    for (city_code, year), count in sorted(to_place_by_city_year.items()):
        target = max(1, round(count * rng.uniform(0.95, 1.02)))
        if city_code in cities:
            rows.append(AnnualTarget(year=year, region=cities[city_code], workers=target))
        key = (city_code[:2] + "0000", year)
        by_province_year[key] = by_province_year.get(key, 0) + target
    rows += [
        AnnualTarget(year=year, region=provinces[code], workers=n)
        for (code, year), n in by_province_year.items()
    ]
    services.targets_bulk_set(creates=rows, updates=[], actor=DEMO, source="", history=False)
    return len(rows)
