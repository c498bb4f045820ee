"""Pages for daily work, without a browser: the officer's only enterprise chosen for them, and
dates that read the same (ISO) in Chinese and English."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from enterprises.models import UserScope
from placement.roles import roles_setup, user_role_sync
from reports.forms import ReportFilterForm

ADD_WORKER = reverse("admin:placement_worker_add")


def _officer(*, enterprise=None, region=None, role=UserScope.Role.ENTERPRISE_HR):
    roles_setup()
    user = get_user_model().objects.create_user("officer", password="x" * 16)
    UserScope.objects.create(user=user, role=role, enterprise=enterprise, region=region)
    user_role_sync(user=user)
    return user


def test_an_officer_of_one_enterprise_finds_it_chosen_on_add_worker(client, enterprise):
    client.force_login(_officer(enterprise=enterprise))
    page = client.get(ADD_WORKER).content.decode()
    assert f'<option value="{enterprise.pk}" selected>{enterprise.name}</option>' in page


def test_a_user_with_several_enterprises_chooses_one_on_add_worker(
    client, enterprise, make_enterprise
):
    make_enterprise(name="测试煤矿乙")
    client.force_login(get_user_model().objects.create_superuser("root", password="x" * 16))
    page = client.get(ADD_WORKER).content.decode()
    assert " selected>" not in page[page.index('id="id_enterprise"') :].split("</select>")[0]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_date_reads_iso_in_the_admin_in_either_language(client, make_worker, language):
    worker = make_worker(registered_on=datetime.date(2016, 3, 1))
    admin = get_user_model().objects.create_superuser("root", password="x" * 16)
    client.force_login(admin)
    client.cookies["django_language"] = language
    page = client.get(reverse("admin:placement_worker_change", args=[worker.pk])).content.decode()
    assert 'name="registered_on" value="2016-03-01"' in page
    assert "1970-05-01" in page  # the birth date, shown read-only
    listing = client.get(reverse("admin:placement_worker_changelist")).content.decode()
    assert "2016-03-01" in listing


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_report_filter_date_is_an_iso_text_input_in_either_language(
    client, world_user, language
):
    client.force_login(world_user)
    client.cookies["django_language"] = language
    page = client.get(
        reverse("reports:region", args=["140000"]), {"year": 2017, "as_of": "2017-06-30"}
    ).content.decode()
    assert 'type="date"' not in page
    assert 'type="text" name="as_of" value="2017-06-30"' in page


@pytest.fixture
def world_user(db):
    return get_user_model().objects.create_superuser("province-root", password="x" * 16)


def test_a_month_first_date_is_not_taken_as_a_date():
    # 12/31/2017 in an English browser would mean something else on a Chinese page.
    assert ReportFilterForm({"as_of": "12/31/2017"}).is_valid() is False
    form = ReportFilterForm({"as_of": "2017/12/31"})
    assert form.is_valid() and form.cleaned_data["as_of"] == datetime.date(2017, 12, 31)
