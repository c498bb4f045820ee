"""Two officers registering the same person at the same moment (PostgreSQL): one is told."""

import time

import pytest
from django.urls import reverse

from placement.admin import WorkerAdmin
from placement.models import Worker
from tests.conftest import synthetic_id
from tests.test_faults import (
    _at_once,
    _carried,
    _hidden,
    _new_worker_page,
    _officer,
    needs_postgresql,
)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_officers_registering_one_number_at_once_one_is_told_not_a_500(
    make_user, make_enterprise, monkeypatch
):
    a, b = make_enterprise(name="甲矿"), make_enterprise(name="乙矿")
    first = _officer(make_user("hr", username="hr-a", enterprise=a))
    second = _officer(make_user("hr", username="hr-b", enterprise=b))
    first.raise_request_exception = second.raise_request_exception = False
    url = reverse("admin:placement_worker_add")
    number = synthetic_id(seq=505)
    data_a = _new_worker_page(a, number) | _carried(_hidden(first.get(url)))
    data_b = _new_worker_page(b, number) | _carried(_hidden(second.get(url)))
    save = WorkerAdmin.save_service

    def pause_then_save(**kwargs):
        time.sleep(0.3)
        return save(**kwargs)

    monkeypatch.setattr(WorkerAdmin, "save_service", pause_then_save)
    responses = _at_once(one=lambda: first.post(url, data_a), two=lambda: second.post(url, data_b))

    codes = sorted(getattr(r, "status_code", repr(r)) for r in responses.values())
    assert Worker.objects.count() == 1
    assert codes == [200, 302], codes
