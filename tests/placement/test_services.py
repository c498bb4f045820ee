import datetime

import pytest
from django.core.exceptions import ValidationError

from access.actors import SYSTEM
from placement import channels
from placement.channels import Category, Channel, LabourRelation
from placement.models import (
    INTERNAL_RETIREMENT_OUTSIDE_WINDOW,
    PLACEMENT_DATE_BEFORE_WORKING_AGE,
    PLACEMENT_DATE_IN_FUTURE,
    TARGET_MAX,
    AnnualTarget,
    Placement,
    Worker,
)
from placement.services import placement_end, worker_place, worker_register
from tests.conftest import synthetic_id

D = datetime.date


def test_registering_derives_birth_date_and_sex_and_stores_no_plain_number(enterprise):
    number = synthetic_id(birth="19680704", seq=124)
    worker = worker_register(enterprise=enterprise, id_number=number, name="测试甲", actor=SYSTEM)
    stored = Worker.objects.get(pk=worker.pk)
    assert (stored.birth_date, stored.sex) == (datetime.date(1968, 7, 4), "F")
    assert number not in stored.id_number_cipher and number not in stored.id_number_digest
    assert stored.id_number == number
    assert Worker.objects.by_id_number(number.lower()).get() == stored


def test_the_same_id_number_at_another_enterprise_is_refused_naming_it(
    make_enterprise, make_worker
):
    first = make_enterprise(name="西山测试矿")
    second = make_enterprise(name="汾西测试矿")
    number = synthetic_id(seq=301)
    make_worker(enterprise=first, id_number=number)
    with pytest.raises(ValidationError) as exc:
        worker_register(enterprise=second, id_number=number, name="重复", actor=SYSTEM)
    assert exc.value.message_dict["id_number"] == [
        "该公民身份号码已在“西山测试矿”登记，同一职工不能在两个企业重复登记"
    ]
    assert Worker.objects.count() == 1


def test_a_15_digit_spelling_of_a_registered_number_is_the_same_worker(enterprise, make_worker):
    make_worker(id_number=synthetic_id(birth="19700501", seq=123))
    with pytest.raises(ValidationError) as exc:
        worker_register(
            enterprise=enterprise, id_number="140105700501123", name="旧号码", actor=SYSTEM
        )
    assert "id_number" in exc.value.message_dict


def test_a_given_sex_or_birth_date_must_agree_with_the_number(enterprise):
    number = synthetic_id(birth="19700501", seq=123)
    with pytest.raises(ValidationError) as exc:
        worker_register(
            enterprise=enterprise,
            id_number=number,
            name="矛盾",
            sex="F",
            birth_date=datetime.date(1970, 5, 2),
            actor=SYSTEM,
        )
    assert exc.value.message_dict["sex"] == ["性别与公民身份号码不符（号码中为“男”）"]
    assert exc.value.message_dict["birth_date"] == [
        "出生日期与公民身份号码不符（号码中为 1970-05-01）"
    ]


def test_a_placement_cannot_be_in_the_future(make_worker):
    worker = make_worker()
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    with pytest.raises(ValidationError) as exc:
        worker_place(
            worker=worker, channel=Channel.INTERNAL_TRANSFER, placed_on=tomorrow, actor=SYSTEM
        )
    assert exc.value.message_dict["placed_on"] == [str(PLACEMENT_DATE_IN_FUTURE)]
    assert not Placement.objects.exists()


def test_a_placement_cannot_precede_the_sixteenth_birthday(make_worker):
    worker = make_worker(id_number=synthetic_id(birth="19700501"))
    with pytest.raises(ValidationError) as exc:
        worker_place(
            worker=worker,
            channel=Channel.INTERNAL_TRANSFER,
            placed_on=datetime.date(1986, 4, 30),
            actor=SYSTEM,
        )
    assert exc.value.message_dict["placed_on"] == [str(PLACEMENT_DATE_BEFORE_WORKING_AGE)]
    worker_place(
        worker=worker,
        channel=Channel.INTERNAL_TRANSFER,
        placed_on=datetime.date(1986, 5, 1),
        actor=SYSTEM,
    )


def test_internal_retirement_is_refused_outside_the_window(make_worker):
    # A man born 1958-06-01 retires on 2018-06-01; the window opens 2013-06-01.
    worker = make_worker(id_number=synthetic_id(birth="19580601", seq=11))
    with pytest.raises(ValidationError) as exc:
        worker_place(
            worker=worker,
            channel=Channel.INTERNAL_RETIREMENT,
            placed_on=datetime.date(2013, 5, 31),
            actor=SYSTEM,
        )
    expected = INTERNAL_RETIREMENT_OUTSIDE_WINDOW % {
        "retirement": "2018-06-01",
        "years": 5,
        "start": "2013-06-01",
    }
    assert exc.value.message_dict["channel"] == [expected]
    placement = worker_place(
        worker=worker,
        channel=Channel.INTERNAL_RETIREMENT,
        placed_on=datetime.date(2016, 3, 1),
        actor=SYSTEM,
    )
    assert placement.category == Category.INTERNAL_RETIREMENT


def test_the_internal_retirement_window_is_a_setting(make_worker, settings):
    settings.LEDGER_INTERNAL_RETIREMENT_WINDOW_YEARS = 10
    worker = make_worker(id_number=synthetic_id(birth="19580601", seq=11))
    worker_place(
        worker=worker,
        channel=Channel.INTERNAL_RETIREMENT,
        placed_on=datetime.date(2009, 1, 5),
        actor=SYSTEM,
    )


def test_the_current_placement_is_the_latest_in_force_and_history_is_kept(make_worker):
    worker = make_worker()
    flexible = worker_place(
        worker=worker,
        channel=Channel.FLEXIBLE_EMPLOYMENT,
        placed_on=datetime.date(2016, 3, 1),
        actor=SYSTEM,
    )
    assert worker.current_placement(on=datetime.date(2016, 6, 1)) == flexible
    placement_end(placement=flexible, ended_on=datetime.date(2016, 9, 1), actor=SYSTEM)
    assert worker.current_placement(on=datetime.date(2016, 10, 1)) is None
    post = worker_place(
        worker=worker,
        channel=Channel.PUBLIC_WELFARE_POST,
        placed_on=datetime.date(2016, 10, 8),
        actor=SYSTEM,
    )
    assert worker.current_placement(on=datetime.date(2017, 1, 1)) == post
    assert worker.placements.count() == 2
    assert set(Worker.objects.pending_on(datetime.date(2016, 9, 15))) == {worker}
    assert set(Worker.objects.placed_on(datetime.date(2017, 1, 1))) == {worker}


def test_a_placement_cannot_end_before_it_starts(make_worker):
    worker = make_worker()
    placement = worker_place(
        worker=worker,
        channel=Channel.FLEXIBLE_EMPLOYMENT,
        placed_on=datetime.date(2016, 3, 1),
        actor=SYSTEM,
    )
    with pytest.raises(ValidationError) as exc:
        placement_end(placement=placement, ended_on=datetime.date(2016, 2, 1), actor=SYSTEM)
    assert "终止日期不能早于安置日期" in str(exc.value)


@pytest.mark.parametrize(
    ("channel", "category", "relation"),
    [
        (Channel.INTERNAL_TRANSFER, Category.INTERNAL_PLACEMENT, LabourRelation.KEPT),
        (Channel.TRAINING_TRANSFER, Category.INTERNAL_PLACEMENT, LabourRelation.KEPT),
        (
            Channel.INTERNAL_RETIREMENT,
            Category.INTERNAL_RETIREMENT,
            LabourRelation.RETIREMENT_IN_PLACE,
        ),
        (Channel.OUTSIDE_DIVERSION, Category.REEMPLOYMENT, LabourRelation.ENDED),
        (Channel.TRANSFER_EMPLOYMENT, Category.REEMPLOYMENT, LabourRelation.ENDED),
        (Channel.SELF_EMPLOYMENT, Category.REEMPLOYMENT, LabourRelation.ENDED),
        (Channel.FLEXIBLE_EMPLOYMENT, Category.REEMPLOYMENT, LabourRelation.ENDED),
        (Channel.ENTREPRENEURSHIP, Category.REEMPLOYMENT, LabourRelation.ENDED),
        (Channel.PUBLIC_WELFARE_POST, Category.FALLBACK, LabourRelation.ENDED),
    ],
)
def test_each_channel_maps_to_its_category_and_labour_relation(channel, category, relation):
    assert channels.channel_category(channel) == category
    assert channels.channel_labour_relation(channel) == relation


def test_every_channel_has_an_outcome_and_every_category_a_channel():
    assert set(channels.CHANNEL_OUTCOMES) == set(Channel)
    assert {cat for cat, _rel in channels.CHANNEL_OUTCOMES.values()} == set(Category)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("内部安置", Channel.INTERNAL_TRANSFER),
        ("内部转岗", Channel.INTERNAL_TRANSFER),
        ("内部安置（转岗）", Channel.INTERNAL_TRANSFER),
        (" 公益性岗位托底安置 ", Channel.PUBLIC_WELFARE_POST),
        ("Flexible employment", Channel.FLEXIBLE_EMPLOYMENT),
        ("转移就业", Channel.TRANSFER_EMPLOYMENT),
        ("随便写的", None),
    ],
)
def test_a_channel_is_read_from_its_chinese_name(written, expected):
    assert channels.channel_from_name(written) == expected


def test_a_write_without_an_actor_is_refused_not_done_for_everyone(make_worker):
    worker = make_worker()
    with pytest.raises(TypeError):
        worker_place(worker=worker, channel=Channel.INTERNAL_TRANSFER, placed_on=D(2016, 6, 1))
    assert not Placement.objects.exists()


def test_a_missing_user_sees_nothing_and_the_system_actor_everything(make_worker):
    from enterprises.models import Enterprise

    make_worker()
    assert not Enterprise.objects.visible_to(None).exists()
    assert not Worker.objects.visible_to(None).exists()
    assert Worker.objects.visible_to(SYSTEM).count() == 1


def test_the_database_refuses_a_target_over_the_cap_written_around_the_model(taiyuan):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AnnualTarget.objects.create(year=2017, region=taiyuan, workers=TARGET_MAX + 1)


def test_pending_means_no_placement_in_force_on_the_day(make_worker, place):
    day = datetime.date(2018, 6, 30)
    open_placement = make_worker()
    place(open_placement, datetime.date(2018, 1, 1))
    ends_after = make_worker()
    place(ends_after, datetime.date(2018, 1, 1), ended_on=datetime.date(2018, 7, 1))
    ended_that_day = make_worker()
    place(ended_that_day, datetime.date(2018, 1, 1), ended_on=day)
    placed_later = make_worker()
    place(placed_later, datetime.date(2018, 7, 1))
    never = make_worker()

    pending = set(Worker.objects.pending_on(day))

    assert pending == {ended_that_day, placed_later, never}
    assert set(Worker.objects.placed_on(day)) == {open_placement, ends_after}
