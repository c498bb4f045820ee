import shutil

import pytest
from django.conf import settings
from django.urls import reverse


def test_pages_are_chinese_even_for_an_english_browser(client, db):
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "zh-hans"
    assert "安置台账" in response.content.decode()


def test_the_language_switch_turns_the_interface_english(root_client, make_worker):
    make_worker()
    client = root_client
    client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    body = client.get(reverse("admin:placement_worker_changelist")).content.decode()
    assert "Resident ID number" in body and "Placement status" in body
    assert "公民身份号码" not in body


def test_the_lockout_records_have_chinese_names_in_the_admin(root_client):
    """django-axes ships no Chinese: its names come from locale/zh_Hans (and config.apps)."""
    body = root_client.get(reverse("admin:index")).content.decode()
    assert "登录防护" in body and "登录尝试" in body and "登录失败" in body
    assert "Access attempts" not in body and "Axes" not in body
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(
        username="someone",
        ip_address="10.0.0.1",
        user_agent="",
        http_accept="",
        path_info="/admin/login/",
        failures_since_start=1,
    )
    page = root_client.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    assert "IP 地址" in page and "IP Address" not in page


@pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgmerge") is None,
    reason="makemessages needs GNU gettext (Debian's gettext package)",
)
def test_every_chinese_string_of_the_interface_has_its_english(tmp_path, settings, monkeypatch):
    """`make messages` finds nothing new to translate: every Chinese string of the code and
    templates is in locale/en, translated and not fuzzy (monthly returns' pages once showed 19
    strings in Chinese on English pages). makemessages runs on a copy of the sources, whose
    catalogue it brings up to date as `make messages` does in place."""
    import re
    from pathlib import Path

    from django.core.management import call_command

    # The packages, templates and catalogues, nothing else of the checkout (its .env, a venv).
    root, copy = Path(settings.BASE_DIR), tmp_path / "project"
    folders = [
        path
        for path in root.iterdir()
        if (path / "__init__.py").exists() and path.name not in ("tests", "benchmarks")
    ]
    for folder in [*folders, root / "templates", root / "locale"]:
        shutil.copytree(folder, copy / folder.name, ignore=shutil.ignore_patterns("*.pyc"))
    # makemessages reads the sources below the current folder and writes the catalogue of the
    # LOCALE_PATHS entry above them: both the copy's.
    monkeypatch.chdir(copy)
    settings.LOCALE_PATHS = [copy / "locale"]
    call_command("makemessages", locale=["en"], no_obsolete=True, no_location=True, verbosity=0)
    catalogue = (copy / "locale" / "en" / "LC_MESSAGES" / "django.po").read_text()
    chinese = re.compile(r"[\u4e00-\u9fff]")
    missing = [
        entry
        for entry in catalogue.split("\n\n")[1:]
        if "#, fuzzy" in entry
        or (
            chinese.search(entry.split("msgstr")[0])
            and re.search(r'msgstr(\[\d\])? ""(\n(?!")|$)', entry)
        )
    ]
    assert missing == []


def test_the_admins_table_headings_read_aloud_are_chinese(root_client):
    """Django 5.2's admin heads its model tables for screen readers in words its Chinese
    catalogue lacks: locale/zh_Hans has them."""
    body = root_client.get(reverse("admin:index")).content.decode()
    assert "模型名称" in body and "修改或查看列表链接" in body
    assert "Model name" not in body and "Change or view list link" not in body
