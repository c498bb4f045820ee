"""A masked number stays masked: the admin's lists accept only the parameters their own filters,
date hierarchy and search produce, pages show no figure from which a masked part follows, and
searches by full number and reveals are logged and limited per user.

Every ModelAdmin registered on the site needs a line in SENSITIVE (a new admin without one fails
`test_every_registered_admin_has_a_line`): the fields whose lookups would narrow a person down.
Every concrete field of every model is probed anyway; the sensitive ones must never pass.
"""

import pytest
from django.contrib import admin
from django.urls import reverse

from placement.access import LOOKUP_LIMIT_REACHED
from placement.models import AccessLog

# Model label -> fields whose query-string lookups would narrow a person down.
SENSITIVE = {
    "placement.worker": [
        "birth_date",
        "phone",
        "id_number_digest",
        "id_number_cipher",
        "registered_on",
        "hire_date",
        "sex",
        "name",
    ],
    "placement.placement": ["placed_on", "ended_on", "destination_unit", "note"],
    "placement.annualtarget": ["workers"],
    "placement.accesslog": ["target", "address", "username"],
    "enterprises.enterprise": ["credit_code", "plan_text"],
    "enterprises.region": [],
    "enterprises.userscope": [],
    "auth.user": ["password", "email", "last_login"],
    "auth.group": [],
    "axes.accessattempt": ["ip_address", "username", "user_agent"],
    "axes.accesslog": ["ip_address", "username", "user_agent"],
    "axes.accessfailurelog": ["ip_address", "username", "user_agent"],
}
# The lookups an attacker would try on each field.
PROBES = ["", "__exact", "__startswith", "__contains", "__gte", "__lt", "__month", "__in"]


def _changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _produced(client, model) -> set[str]:
    """The parameters the list's own filters and date hierarchy use."""
    response = client.get(_changelist(model))
    assert response.status_code == 200, model
    changelist = response.context["cl"]
    produced = {p for spec in changelist.filter_specs for p in spec.expected_parameters()}
    if changelist.date_hierarchy:
        produced |= {f"{changelist.date_hierarchy}__{part}" for part in ("year", "month", "day")}
    return produced


def test_every_registered_admin_has_a_line():
    registered = {model._meta.label_lower for model in admin.site._registry}
    missing = sorted(registered - set(SENSITIVE))
    assert not missing, f"ModelAdmins without a line in {__name__}.SENSITIVE: {missing}"
    assert not sorted(set(SENSITIVE) - registered), "SENSITIVE names admins no longer registered"


@pytest.mark.parametrize("label", sorted(SENSITIVE))
def test_a_list_answers_400_to_every_lookup_its_filters_do_not_produce(world, login, client, label):
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    client = login(world.users["administrator"])
    produced = _produced(client, model)
    fields = [f.name for f in model._meta.concrete_fields]
    assert set(SENSITIVE[label]) <= set(fields), "SENSITIVE names a field the model lacks"
    tried = 0
    failures = []
    for field in fields:
        for probe in PROBES:
            parameter = field + probe
            if parameter in produced:
                continue
            assert field not in SENSITIVE[label] or parameter not in produced
            tried += 1
            status = client.get(_changelist(model), {parameter: "1"}).status_code
            if status != 400:
                failures.append(f"?{parameter}=1: {status}")
    assert tried and not failures, "\n".join(failures)
    # The sensitive fields' own lookups are never among the produced ones, and the list's
    # filters still work: the allow-list refuses probes, not the page.
    assert not {p for p in produced for f in SENSITIVE[label] if p in (f, f + "__exact")}
    for parameter in produced - {p for p in produced if p.endswith(("__day", "__month"))}:
        assert client.get(_changelist(model), {parameter: ""}).status_code != 400, parameter


def test_the_filters_and_the_date_hierarchy_of_the_worker_list_still_work(world, login, client):
    client = login(world.users["county"])
    url = _changelist(type(world.a.worker))
    for query in (
        {"status": "pending"},
        {"status__exact": "worker"},
        {"registered_on__year": "2016", "registered_on__month": "1"},
        {"q": world.a.worker.name},
        {"city": "1401"},
    ):
        response = client.get(url, query)
        assert response.status_code == 200, query
    assert world.a.worker.name in client.get(url, {"q": world.a.worker.name}).content.decode()


def test_attack_masked_number_rebuilt_from_a_birth_date_lookup(world, login, client):
    # The list mask (region code + last four) plus a confirmed birth date is the whole number.
    client = login(world.users["county"])
    worker = world.a.worker
    url = _changelist(type(worker))
    response = client.get(url, {"id": worker.pk, "birth_date": "1970-05-01"})
    assert response.status_code == 400
    assert worker.name not in response.content.decode()
    entry = AccessLog.objects.get(action=AccessLog.Action.PROBE)
    assert entry.username == "county-xiaodian"
    assert entry.target == "placement.worker?birth_date,id"
    assert "1970" not in entry.target + entry.source  # the guess itself is not kept


def test_attack_phone_read_digit_by_digit(world, login, client):
    client = login(world.users["city"])
    url = _changelist(type(world.a.worker))
    assert client.get(url, {"phone__startswith": "138"}).status_code == 400
    assert client.get(url, {"phone__regex": "^138"}).status_code == 400


def test_attack_birth_date_sweep_by_month_and_day(world, login, client):
    client = login(world.users["province"])
    url = _changelist(type(world.a.worker))
    response = client.get(url, {"birth_date__month": "5", "birth_date__day": "1"})
    assert response.status_code == 400


def test_attack_lookup_through_a_relation_or_the_export(world, login, client):
    client = login(world.users["county"])
    placements = _changelist(type(world.a.placement))
    assert client.get(placements, {"worker__birth_date": "1970-05-01"}).status_code == 400
    export = reverse("admin:placement_worker_export") + "?birth_date=1970-05-01"
    response = client.post(export, {"format": "0", "resource": "0"})
    assert response.status_code == 400


def test_attack_retirement_month_gives_the_birth_month(world, login, client):
    worker = world.a.worker
    retires = worker.retirement_date
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    county = login(world.users["county"]).get(url).content.decode()
    assert f"{retires:%Y-%m}" not in county
    assert str(retires.year) in county
    hr = login(world.users["hr"]).get(url).content.decode()  # may see full numbers
    assert retires.isoformat() in hr or f"{retires:%Y年%-m月%-d日}" in hr


def _find(client, number):
    return client.post(reverse("admin:placement_worker_find"), {"id_number": number})


def test_every_find_by_number_is_logged_found_or_not(world, login, client):
    client = login(world.users["county"])
    assert _find(client, world.a.id_number).status_code == 302
    assert _find(client, world.c.id_number).status_code == 200  # outside: "not found"
    entries = list(AccessLog.objects.filter(action=AccessLog.Action.FIND).order_by("id"))
    assert [(e.username, e.target, e.rows) for e in entries] == [
        ("county-xiaodian", f"placement.worker:{world.a.worker.pk}", 1),
        ("county-xiaodian", "placement.worker", 0),
    ]
    logged = " ".join(e.target + e.source for e in entries)
    assert world.a.id_number not in logged and world.c.id_number not in logged


def test_attack_find_confirms_guesses_without_a_limit(world, login, client, settings):
    settings.LEDGER_LOOKUPS_PER_MINUTE = 3
    client = login(world.users["city"])
    for _ in range(3):
        assert _find(client, world.c.id_number).status_code == 200
    response = _find(client, world.a.id_number)  # right, but over the limit: not confirmed
    assert response.status_code == 429
    assert str(LOOKUP_LIMIT_REACHED % {"limit": 3}) in response.content.decode()
    assert "Location" not in response
    assert AccessLog.objects.filter(action=AccessLog.Action.LIMITED).count() == 1
    # Another user is not held back by this one.
    assert _find(login(world.users["county"]), world.a.id_number).status_code == 302


def test_reveals_share_the_per_minute_limit(world, login, client, settings):
    settings.LEDGER_LOOKUPS_PER_MINUTE = 2
    client = login(world.users["hr"])
    url = reverse("admin:placement_worker_reveal", args=[world.a.worker.pk])
    assert _find(client, world.a.id_number).status_code == 302
    assert world.a.id_number in client.post(url).content.decode()
    response = client.post(url)
    assert response.status_code == 429
    assert world.a.id_number not in response.content.decode()
    assert AccessLog.objects.filter(action=AccessLog.Action.REVEAL).count() == 1
