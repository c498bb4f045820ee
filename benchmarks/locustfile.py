"""Simulated officers for the load test (locust). Run it through benchmarks/load.py, which seeds,
starts gunicorn and a job worker on loopback, creates the officers' accounts and runs this for a
fixed time; it refuses any host but 127.0.0.1.

Each simulated officer logs in once at the start (the admin's login form: one password hash),
then clicks every 5-15 s: their dashboard (provincial staff also drill into a city), the
admin's worker and placement lists, a name search, the enterprise's worker list; HR officers
also correct a worker (the change form read, one field changed, saved), and the first HR officer
imports one roster (upload, wait for the check, confirm, wait for the write), as an officer
would after a provincial import.

Environment (set by load.py): LEDGER_LOAD_PASSWORD, LEDGER_LOAD_OFFICERS (username:role:scope
list), LEDGER_LOAD_ROSTER (the file the import sends).
"""

import os
import random
import re
import time
from html.parser import HTMLParser
from urllib.parse import urlparse

from locust import HttpUser, between, events, task

ALLOWED_HOST = "127.0.0.1"
OFFICERS = [line.split(":") for line in os.environ.get("LEDGER_LOAD_OFFICERS", "").split(",")]
PASSWORD = os.environ.get("LEDGER_LOAD_PASSWORD", "")
ROSTER = os.environ.get("LEDGER_LOAD_ROSTER", "")
_next_officer = iter(range(10**6))


@events.test_start.add_listener
def _loopback_only(environment, **kwargs):
    """Traffic to this machine's loopback only: anything else stops the run before it starts."""
    host = urlparse(environment.host or "").hostname
    if host != ALLOWED_HOST:
        raise SystemExit(f"refusing to load {environment.host!r}: only http://{ALLOWED_HOST}")


class FormFields(HTMLParser):
    """The named fields of the page's forms with their current values (a change form's POST)."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields[name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "file", "image"):
                self.fields[name] = attrs.get("value", "")
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


class Officer(HttpUser):
    wait_time = between(5, 15)

    def on_start(self):
        number = next(_next_officer)
        self.username, self.role, self.scope = OFFICERS[number % len(OFFICERS)]
        self.imports = self.role == "hr" and number == 0 and bool(ROSTER)
        self.workers: list[str] = []
        self.client.get("/admin/login/", name="login page")
        response = self.client.post(
            "/admin/login/?next=/",
            {
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
                "next": "/",
            },
            headers={"Referer": self.host + "/admin/login/"},
            name="login (POST, then the home page)",
        )
        if "/admin/login/" in response.url:
            raise SystemExit(f"login failed for {self.username}")
        self.home = response.url

    def _csrf(self):
        return self.client.cookies.get("csrftoken", "")

    @task(4)
    def dashboard(self):
        self.client.get(self.home, name=f"dashboard ({self.role})")
        if self.role == "province":
            city = random.choice(["140100", "140200", "140400", "140500", "140700", "141000"])
            self.client.get(f"/reports/region/{city}/", name="dashboard (a city, drilled into)")

    @task(3)
    def worker_list(self):
        page = random.choice(["", "?p=1", "?p=2"])
        response = self.client.get("/admin/placement/worker/" + page, name="admin worker list")
        self.workers = re.findall(r'href="/admin/placement/worker/(\d+)/change/', response.text)

    @task(1)
    def placement_list(self):
        self.client.get("/admin/placement/placement/", name="admin placement list")

    @task(2)
    def name_search(self):
        # The demo's names read 王演示000123: three characters or more of one.
        term = f"演示{random.randrange(1, 4000):04d}"
        self.client.get("/admin/placement/worker/", params={"q": term}, name="name search")

    @task(1)
    def enterprise_workers(self):
        if self.role == "hr":
            self.client.get(f"/reports/enterprise/{self.scope}/workers/", name="enterprise workers")

    @task(2)
    def worker_edit(self):
        if self.role != "hr" or not self.workers:
            return
        pk = random.choice(self.workers)
        url = f"/admin/placement/worker/{pk}/change/"
        response = self.client.get(url, name="worker change form")
        parser = FormFields()
        parser.feed(response.text)
        data = parser.fields
        data["post"] = random.choice(["采煤工", "掘进工", "机电工", "后勤"])
        data["_save"] = "保存"
        data["csrfmiddlewaretoken"] = self._csrf()
        with self.client.post(
            url,
            data,
            headers={"Referer": self.host + url},
            name="worker change (POST)",
            catch_response=True,
            allow_redirects=False,
        ) as saved:
            if saved.status_code != 302:
                saved.failure(f"not saved: {saved.status_code}")

    @task(1)
    def roster_import(self):
        if not self.imports:
            return
        self.imports = False
        base = "/admin/placement/worker/import/"
        self.client.get(base, name="import page")
        with open(ROSTER, "rb") as roster:
            response = self.client.post(
                base,
                {"enterprise": self.scope, "csrfmiddlewaretoken": self._csrf()},
                files={"import_file": ("roster.xlsx", roster)},
                headers={"Referer": self.host + base},
                name="import upload",
            )
        token = re.search(r"job=([\w-]+)", response.url)
        if token is None:
            response.failure("no import job") if hasattr(response, "failure") else None
            return
        token = token.group(1)
        if not self._wait(base, token, "preview"):
            return
        self.client.post(
            "/admin/placement/worker/process_import/",
            {"token": token, "enterprise": self.scope, "csrfmiddlewaretoken": self._csrf()},
            headers={"Referer": self.host + base},
            name="import confirm",
        )
        self._wait(base, token, "done")

    def _wait(self, base, token, status, limit=120):
        """Poll the job's status as the progress page does (once a second), at most `limit` s."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            state = self.client.get(
                base, params={"status": token}, name="import status (poll)"
            ).json()
            if state.get("status") == status:
                return True
            if state.get("status") in ("failed", "refused", "cancelled", "expired"):
                return False
            time.sleep(1)
        return False
