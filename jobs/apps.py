from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"
    verbose_name = _("后台任务")

    def ready(self):
        # django-tasks-db's own admin lists every task with its arguments and any traceback (which
        # may quote a cell of a file): the import and export pages show the jobs to their owners,
        # and the queue's table is for operators, with SQL.
        from django.contrib import admin
        from django_tasks_db.models import DBTaskResult

        if admin.site.is_registered(DBTaskResult):
            admin.site.unregister(DBTaskResult)
