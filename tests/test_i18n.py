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
