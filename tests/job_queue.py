"""Running the job queue inside a test, as `manage.py db_worker --batch` does in production."""

from unittest import mock

from django.core.management import call_command


def run_jobs() -> None:
    """Run every job on the queue, then return. The worker closes its connection between jobs
    when it is not in autocommit mode, as a test's connection is (inside the test's transaction):
    that part of its loop is left out here."""
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command(
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
            "--queue-name",
            "*",
            verbosity=0,
        )


def upload_and_check(client, url: str, data: dict):
    """POST an upload, run its check, and GET the page the upload redirected to (the preview)."""
    response = client.post(url, data)
    if response.status_code != 302:
        return response
    run_jobs()
    return client.get(response["Location"])


def confirm_and_write(client, url: str, data: dict, **kwargs):
    """POST a confirmation and run the write; the confirmation's response."""
    response = client.post(url, data, **kwargs)
    run_jobs()
    return response
