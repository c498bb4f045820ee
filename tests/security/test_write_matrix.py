"""Read-only means read-only: every change, delete, add and history URL of every admin, POSTed by
every role that may not write through it, answers 403 or 404 and leaves the database unchanged.

The change forms are POSTed with the data an administrator's own form carries (read from the
page as a browser would submit it) with one field changed, so a missing permission check would
save: `test_the_posted_forms_are_valid_for_an_administrator` proves the data would be accepted.
The history pages of django-simple-history are read-only for everybody, administrators included
(revert is off: a version's page would otherwise save the old version over the record).
"""

from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.urls import reverse

from .conftest import ROLES
from .test_access_matrix import WRITERS, county_return, region_of

# One field each change POST alters, by admin URL prefix (models without a line are POSTed
# unchanged: a save would still answer 302, which the status check catches).
MUTATIONS = {
    "enterprises_region": ("name", "改名区"),
    "enterprises_enterprise": ("name", "改名煤矿"),
    "placement_worker": ("post", "改过的岗位"),
    "placement_placement": ("destination_unit", "改过的单位"),
    "placement_annualtarget": ("workers", "1"),
    "auth_user": ("first_name", "改名"),
    "auth_group": ("name", "改名组"),
}
HISTORY_MODELS = ["enterprises_enterprise", "placement_worker", "placement_placement"]
HISTORY_MODELS += ["placement_annualtarget"]


class _FormReader(HTMLParser):
    """The fields a browser would submit from the page's main form."""

    def __init__(self):
        super().__init__()
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.append((name, a.get("value") or "on"))
                return
            self.data.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.data.append((self._select, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.data.append((self._textarea, self._text.strip("\n")))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text += data


def _form_data(client, url, prefix) -> dict:
    """The change form as an administrator's browser would POST it, with one field changed."""
    response = client.get(url)
    assert response.status_code == 200, url
    reader = _FormReader()
    reader.feed(response.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in reader.data:
        if name in ("csrfmiddlewaretoken", "language"):
            continue
        data.setdefault(name, []).append(value)
    if prefix in MUTATIONS:
        field, value = MUTATIONS[prefix]
        data[field] = [value]
    data["_save"] = ["保存"]
    return data


def _snapshot():
    """Every row of every model of the ledger, accounts and history: equal means unchanged."""
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in ("enterprises", "placement", "auth", "reports")
    ]
    return {
        m._meta.label: list(m._default_manager.order_by("pk").values())
        for m in models
        if m._meta.label != "placement.AccessLog"  # refusals may be logged
    }


def _objects(world, writers):
    for site in ("a", "b", "c"):
        yield site, writers.obj(world, site)


def _admin_client(world, login):
    return login(world.users["administrator"])


@pytest.mark.parametrize("role", [r for r in ROLES if r != "administrator"])
def test_every_write_url_refuses_a_post_by_a_role_that_may_not_write(world, login, client, role):
    # The forms first, as the administrator sees them; then the attack, as the role.
    admin_client = _admin_client(world, login)
    attempts = []
    for prefix, writers in WRITERS.items():
        if prefix.startswith("axes_"):
            continue  # lockout records: no object in this world; covered by the GET matrix
        for site, obj in _objects(world, writers):
            change = reverse(f"admin:{prefix}_change", args=[obj.pk])
            form = _form_data(admin_client, change, prefix)
            if role not in writers.change:
                attempts.append((change, form))
            if role not in writers.delete:
                attempts.append((reverse(f"admin:{prefix}_delete", args=[obj.pk]), {"post": "yes"}))
            attempts.append((reverse(f"admin:{prefix}_history", args=[obj.pk]), form))
            if prefix in HISTORY_MODELS:
                version = obj.history.order_by("history_id").first().history_id
                history_form = reverse(f"admin:{prefix}_simple_history", args=[obj.pk, version])
                attempts.append((history_form, form))
            if role not in writers.add and site == "a":
                attempts.append((reverse(f"admin:{prefix}_add"), form))
    attacker = login(world.users[role])
    before = _snapshot()  # after the login, which writes last_login
    # A deactivated user is sent to the login page; everyone else is refused or finds nothing.
    expected = {302} if role == "deactivated" else {403, 404}
    failures = []
    for url, data in attempts:
        status = attacker.post(url, data).status_code
        if status not in expected:
            failures.append(f"POST {url}: {status}, expected one of {sorted(expected)}")
    assert not failures, "\n".join(failures)
    assert _snapshot() == before


def test_the_posted_forms_are_valid_for_an_administrator(world, login, client):
    # Without this the matrix above could pass on forms that would fail validation anyway.
    admin_client = _admin_client(world, login)
    for prefix in MUTATIONS:
        writers = WRITERS[prefix]
        obj = writers.obj(world, "a")
        change = reverse(f"admin:{prefix}_change", args=[obj.pk])
        form = _form_data(admin_client, change, prefix)
        response = admin_client.post(change, form)
        assert response.status_code == 302, (prefix, response.context and _errors(response))
        field, value = MUTATIONS[prefix]
        obj.refresh_from_db()
        assert str(getattr(obj, field)) == value, prefix


def _errors(response):
    errors = [response.context["adminform"].form.errors]
    errors += [formset.errors for formset in response.context.get("inline_admin_formsets", [])]
    return errors


@pytest.mark.parametrize("prefix", HISTORY_MODELS)
def test_history_versions_cannot_be_saved_back_even_by_an_administrator(
    world, login, client, prefix
):
    admin_client = _admin_client(world, login)
    obj = WRITERS[prefix].obj(world, "a")
    form = _form_data(admin_client, reverse(f"admin:{prefix}_change", args=[obj.pk]), prefix)
    version = obj.history.order_by("history_id").first().history_id
    url = reverse(f"admin:{prefix}_simple_history", args=[obj.pk, version])
    before = _snapshot()
    assert admin_client.get(url).status_code == 200  # the version stays readable
    assert admin_client.post(url, form).status_code == 403
    assert _snapshot() == before


def test_attack_read_only_staff_change_the_target_through_the_history_page(world, login, client):
    # The finding: demo-province (read only) POSTs a target's history form back with workers=1.
    target = world.a.target
    version = target.history.order_by("history_id").first().history_id
    url = reverse("admin:placement_annualtarget_simple_history", args=[target.pk, version])
    attacker = login(world.users["province"])
    assert attacker.get(url).status_code == 200
    forged = {"year": "2016", "enterprise": target.enterprise_id, "workers": 1}
    response = attacker.post(url, forged)
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.workers == 7


def test_attack_hr_officer_reverts_a_worker_through_the_history_page(world, login, client):
    # The README says revert is off; for an HR officer the history form was a working revert
    # (and carries the ID number field).
    worker = world.a.worker
    version = worker.history.order_by("history_id").first().history_id
    url = reverse("admin:placement_worker_simple_history", args=[worker.pk, version])
    attacker = login(world.users["hr"])
    response = attacker.post(
        url,
        {
            "enterprise": worker.enterprise_id,
            "name": "被改的名字",
            "id_number": "",
            "status": worker.status,
            "registered_on": "2016-01-04",
        },
    )
    assert response.status_code == 403
    worker.refresh_from_db()
    assert worker.name != "被改的名字"


# Monthly returns: (URL name, state of the return, data) and who may act where: a county on its
# own return, the city on its counties' (administrators everywhere, not attacked here).
RETURN_ACTIONS = [
    ("reports:return_submit", "generated", {}, {"county": {"a"}}),
    ("reports:return_approve", "submitted", {}, {"city": {"a", "b"}}),
    ("reports:return_send_back", "submitted", {"reason": "x"}, {"city": {"a", "b"}}),
    ("reports:return_reopen", "approved", {"reason": "x"}, {}),
]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "administrator"])
def test_attack_a_role_moves_a_monthly_return_it_may_not_act_on(world, login, client, role):
    attempts = []
    for name, state, data, allowed in RETURN_ACTIONS:
        for site in ("a", "b", "c"):
            if site not in allowed.get(role, set()):
                ret = county_return(world, site, state)
                attempts.append((reverse(name, args=[ret.pk]), data))
    for site in ("a", "b", "c"):
        region = region_of(world, site)
        for code in (region.code, region.parent.code, "140000"):
            own = {"county": "140105", "city": "140100", "province": "140000"}.get(role)
            if code != own:
                url = reverse("reports:return_generate", args=[code])
                attempts.append((url, {"period": "2016-06"}))
    attacker = login(world.users[role])
    before = _snapshot()
    expected = {302} if role == "deactivated" else {403, 404}
    failures = [
        f"POST {url}: {status}"
        for url, data in attempts
        if (status := attacker.post(url, data).status_code) not in expected
    ]
    assert not failures, "\n".join(failures)
    assert _snapshot() == before
