import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from placement.channels import Channel


@pytest.fixture
def city_staff(make_user):
    return make_user("city")


@pytest.fixture
def hr_officer(make_user):
    return make_user("hr")


@pytest.fixture
def datong_enterprise(make_enterprise, db):
    from enterprises.models import Region

    county = Region.objects.filter(level=Region.Level.COUNTY, code__startswith="1402").first()
    return make_enterprise(name="大同测试矿", region=county)


def test_the_home_page_leads_a_superuser_to_the_province(client, superuser, province):
    client.force_login(superuser)

    response = client.get("/", follow=True)

    assert response.redirect_chain[-1][0] == reverse("reports:region", args=["140000"])
    assert response.status_code == 200


def test_the_home_page_leads_region_staff_to_their_region(client, city_staff):
    client.force_login(city_staff)

    response = client.get(reverse("reports:home"))

    assert response["Location"] == reverse("reports:region", args=["140100"])


def test_the_home_page_leads_an_hr_officer_to_their_enterprise(client, hr_officer, enterprise):
    client.force_login(hr_officer)

    response = client.get(reverse("reports:home"), {"year": 2017})

    assert (
        response["Location"] == reverse("reports:enterprise", args=[enterprise.pk]) + "?year=2017"
    )


def test_pages_need_a_login(client, province):
    response = client.get(reverse("reports:region", args=["140000"]))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_province_dashboard_renders_the_figures(client, superuser, make_worker, place):
    place(make_worker(), datetime.date(2017, 3, 1))
    make_worker()
    client.force_login(superuser)

    response = client.get(
        reverse("reports:region", args=["140000"]), {"year": 2017, "as_of": "2017-06-30"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "山西省 2017年度职工安置情况" in page
    assert "50.00%" in page
    assert "<svg" in page
    assert "<script" not in page
    assert 'href="/reports/region/140100/?year=2017&amp;as_of=2017-06-30"' in page
    assert response.context["report"].totals.placed == 1


def test_a_region_outside_the_users_scope_is_not_found(client, city_staff, datong_enterprise):
    client.force_login(city_staff)

    assert client.get(reverse("reports:region", args=["140100"])).status_code == 200
    assert client.get(reverse("reports:region", args=["140105"])).status_code == 200
    assert client.get(reverse("reports:region", args=["140000"])).status_code == 404
    assert client.get(reverse("reports:region", args=["140200"])).status_code == 404
    assert client.get(reverse("reports:enterprise", args=[datong_enterprise.pk])).status_code == 404
    assert client.get(reverse("reports:workers", args=[datong_enterprise.pk])).status_code == 404
    assert (
        client.get(reverse("reports:region_export", args=["140000", "children"])).status_code == 404
    )


def test_an_hr_officer_sees_only_their_enterprise(
    client, hr_officer, enterprise, datong_enterprise
):
    client.force_login(hr_officer)

    assert client.get(reverse("reports:enterprise", args=[enterprise.pk])).status_code == 200
    assert client.get(reverse("reports:region", args=["140105"])).status_code == 404
    assert client.get(reverse("reports:enterprise", args=[datong_enterprise.pk])).status_code == 404


def test_the_worker_list_masks_id_numbers_and_hides_birth_dates(
    client, superuser, enterprise, make_worker, place
):
    worker = make_worker(name="名单职工")
    place(worker, datetime.date(2017, 3, 1), Channel.SELF_EMPLOYMENT)
    client.force_login(superuser)

    response = client.get(
        reverse("reports:workers", args=[enterprise.pk]), {"year": 2017, "as_of": "2017-06-30"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert worker.id_number_masked in page
    assert worker.id_number not in page
    assert "1970-05-01" not in page
    assert "自主择业" in page
    assert reverse("admin:placement_worker_change", args=[worker.pk]) in page


def test_the_worker_list_filters_by_status_and_paginates(
    client, superuser, enterprise, make_worker, place
):
    for i in range(55):
        worker = make_worker()
        if i % 5 == 0:
            place(worker, datetime.date(2017, 3, 1))
    client.force_login(superuser)
    url = reverse("reports:workers", args=[enterprise.pk])

    pending = client.get(url, {"as_of": "2017-06-30", "status": "pending"})
    placed = client.get(url, {"as_of": "2017-06-30", "status": "placed"})
    second = client.get(url, {"as_of": "2017-06-30", "page": 2})

    assert pending.context["page"].paginator.count == 44
    assert placed.context["page"].paginator.count == 11
    assert len(second.context["page"].object_list) == 5


# 13 for the report as of a month's last day (no visibility check for a user who sees the
# whole scope), 2 for the approved monthly return of a past month-end shown beside it.
DASHBOARD_QUERIES = 15


def test_the_dashboard_query_count_does_not_grow_with_enterprises(
    root_client, make_enterprise, make_worker, place, django_assert_num_queries
):
    url = reverse("reports:region", args=["140000"])
    for new_enterprises in (2, 18):
        for _ in range(new_enterprises):
            place(make_worker(enterprise=make_enterprise()), datetime.date(2017, 3, 1))
        # The session and the user, the user's scope, and the report's own queries: only
        # reads (the facts are kept by the write path).
        with django_assert_num_queries(DASHBOARD_QUERIES):
            response = root_client.get(url, {"year": 2017, "as_of": "2017-06-30"})
        assert response.status_code == 200


def test_bad_filters_fall_back_to_defaults(client, superuser, province):
    client.force_login(superuser)

    response = client.get(reverse("reports:region", args=["140000"]), {"year": "abc"})

    assert response.status_code == 200
    assert response.context["report"].year == timezone.localdate().year


def test_a_user_without_a_scope_is_refused(client, make_user):
    client.force_login(make_user(None, username="nobody"))

    assert client.get(reverse("reports:home")).status_code == 403
    assert client.get(reverse("reports:region", args=["140000"])).status_code == 404


def test_a_group_dashboard_lists_its_members_with_links(
    client, superuser, make_enterprise, make_worker, place
):
    group = make_enterprise(name="测试集团")
    member = make_enterprise(name="集团成员矿", parent=group)
    place(make_worker(enterprise=member), datetime.date(2017, 3, 1))
    client.force_login(superuser)

    response = client.get(reverse("reports:enterprise", args=[group.pk]), {"year": 2017})

    page = response.content.decode()
    assert response.status_code == 200
    assert "各企业安置情况" in page
    assert reverse("reports:enterprise", args=[member.pk]) + "?year=2017" in page
    assert response.context["report"].totals.placed == 1
    # A group's members may lag: the panel and the industry filter are there, also when the
    # industry chosen leaves no member (the filter must stay to be changed back).
    assert "安置进度靠后的企业" in page and 'name="industry"' in page
    other = "steel" if member.industry != "steel" else "coal"
    none = client.get(reverse("reports:enterprise", args=[group.pk]), {"industry": other})
    assert none.context["report"].children == []
    assert 'name="industry"' in none.content.decode()


def test_one_enterprises_dashboard_does_not_rank_it_against_itself(
    client, hr_officer, enterprise, make_worker
):
    """No 安置进度靠后的企业 listing the mine alone, no industry to choose, and no 序时进度
    beside a completion rate that has no target."""
    make_worker(enterprise=enterprise)
    client.force_login(hr_officer)
    page = client.get(reverse("reports:enterprise", args=[enterprise.pk]), {"year": 2017})
    body = page.content.decode()
    assert page.status_code == 200 and page.context["report"].totals.target is None
    assert "安置进度靠后的企业" not in body
    assert 'name="industry"' not in body
    assert "序时进度" not in body.split('class="cards"')[1].split("</section>")[0]


def test_a_mine_officer_gets_no_link_to_the_group_they_cannot_open(
    client, make_user, make_enterprise
):
    group = make_enterprise(name="测试集团")
    mine = make_enterprise(name="测试集团二矿", parent=group)
    client.force_login(make_user("hr", username="mine-hr", enterprise=mine))

    page = client.get(reverse("reports:enterprise", args=[mine.pk]))
    group_url = reverse("reports:enterprise", args=[group.pk])
    assert group_url not in page.content.decode()
    assert client.get(group_url).status_code == 404

    client.force_login(make_user("hr", username="group-hr", enterprise=group))
    assert group_url in client.get(reverse("reports:enterprise", args=[mine.pk])).content.decode()


def test_the_months_table_writes_the_expected_share_of_the_target_as_a_count(
    client, superuser, make_worker, province
):
    """按序时应完成 above a thousand reads "1,037" like the counts beside it, not "1037"."""
    from placement.models import AnnualTarget
    from reports.templatetags.report_format import whole

    make_worker()
    AnnualTarget.objects.create(year=2017, region=province, workers=3650)
    client.force_login(superuser)
    response = client.get(
        reverse("reports:region", args=["140000"]), {"year": 2017, "as_of": "2017-06-30"}
    )
    months = response.context["report"].months
    page = response.content.decode()
    # The end of April: 120 of 365 days, 1,200.0 workers; of May: 151 days, 1,510.0.
    assert [str(whole(point.elapsed_target)) for point in months[3:5]] == ["1,200", "1,510"]
    assert "<td>1,200</td>" in page and "<td>1,510</td>" in page
    assert (whole(None), whole(Decimal("0.5")), whole(Decimal("1074.49"))) == ("—", "1", "1,074")


def test_an_as_of_date_after_the_years_end_is_refused_and_the_year_kept(
    client, superuser, province
):
    client.force_login(superuser)
    url = reverse("reports:region", args=["140000"])

    response = client.get(url, {"year": 2017, "as_of": "2018-05-01"})

    report = response.context["report"]
    assert (report.year, report.as_of) == (2017, datetime.date(2017, 12, 31))
    assert "截至日期不能晚于 2017 年年底" in response.content.decode()
    # Before the year's start stays allowed (a year whose target is set in advance).
    early = client.get(url, {"year": 2017, "as_of": "2016-06-30"}).context["report"]
    assert early.as_of == datetime.date(2016, 6, 30)
