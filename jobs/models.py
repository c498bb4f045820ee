"""An import job (an uploaded file, its check, its confirmation and its write) and an export job
(a large export written in the background). Uploads, previews and exported files are stored here,
in the database every app server shares, encrypted with the ID-number keys."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_token() -> str:
    return secrets.token_hex(16)


class JobQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(user=user)


# Why a job failed, as the officer reads it on the job's page and in the import history.
FAILED_DATABASE = _(
    "数据库连接多次中断（已尝试 %(attempts)s 次），任务未完成；文件中的数据均未写入，请稍后重新提交"
)
FAILED_WORKER = _(
    "后台任务进程多次中断（已尝试 %(attempts)s 次），任务未完成；"
    "文件中的数据均未写入，请稍后重新提交"
)
FAILED_ACCESS_CHANGED = _(
    "提交导出后，您的数据范围或查看权限已有变更，导出未进行；如仍需要，请重新导出"
)
FAILED_INTERNAL = _("处理时发生内部错误（%(kind)s），文件中的数据均未写入；请联系系统管理员")


# Kept in an import job's options (keys beginning with "_" are the job's own, never the import
# service's): when its check began reading what is stored, and that its write found the stored
# records changed since, so that the file was checked again (jobs.tasks).
CHECKED_AT = "_checked_at"
RECHECKED = "_rechecked"


class ImportJob(models.Model):
    """One uploaded file on its way through check → preview → confirm → write; kept afterwards
    (without the file) as the import history."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("等待检查")
        CHECKING = "checking", _("正在检查")
        PREVIEW = "preview", _("待确认")
        REFUSED = "refused", _("有错误，未导入")
        CONFIRMED = "confirmed", _("已确认，等待写入")
        WRITING = "writing", _("正在写入")
        DONE = "done", _("已导入")
        CANCELLED = "cancelled", _("已取消")
        EXPIRED = "expired", _("已过期")
        FAILED = "failed", _("失败")

    RUNNING = (Status.QUEUED, Status.CHECKING, Status.CONFIRMED, Status.WRITING)

    # A random token, not the primary key, names the job in URLs: job numbers are not guessable.
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    model = models.CharField(_("导入对象"), max_length=100)  # "placement.worker"
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise",
        verbose_name=_("企业"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
    )
    filename = models.CharField(_("文件名"), max_length=255)
    options = models.JSONField(default=dict)
    # The file and the check's result (ImportResult.dumps()), Fernet-encrypted; the file is
    # emptied on confirm's write, cancel and expiry, the changes once written.
    data = models.BinaryField(default=b"")
    result = models.BinaryField(default=b"")
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    rows_total = models.PositiveIntegerField(null=True)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(_("新增"), default=0)
    updated = models.PositiveIntegerField(_("更新"), default=0)
    unchanged = models.PositiveIntegerField(_("未变"), default=0)
    error_count = models.PositiveIntegerField(_("错误"), default=0)
    # Why a failed job failed, in words for the officer (never an exception's text: it may
    # quote a cell of the file).
    failure = models.CharField(_("失败原因"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    started_at = models.DateTimeField(null=True)
    heartbeat_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("导入批次")
        verbose_name_plural = _("导入批次")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="jobs_importjob_status_idx"),
        ]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"


class WriteProgress(models.Model):
    """How far an import's write has got, for its page. The write is one transaction, holding
    its job's row locked, so the progress it records there shows only once it has committed;
    this row is updated through a connection of its own, committed at once (jobs.tasks,
    `WriteReporter`; PostgreSQL only). Removed when the write ends."""

    job = models.OneToOneField(
        ImportJob, on_delete=models.CASCADE, primary_key=True, related_name="write_progress"
    )
    rows_done = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self):
        return f"{self.job_id}: {self.rows_done}"


class ExportJob(models.Model):
    """One large export, written in the background; the file is offered to the user who asked
    for it only, and removed after LEDGER_EXPORT_KEEP_HOURS."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("等待导出")
        RUNNING = "running", _("正在导出")
        DONE = "done", _("可以下载")
        EXPIRED = "expired", _("已过期")
        FAILED = "failed", _("失败")

    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    model = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="export_jobs"
    )
    # The change list's query string (its filters and search) and the export form's choices.
    query = models.TextField(blank=True)
    options = models.JSONField(default=dict)
    filename = models.CharField(max_length=255)
    # The finished file is kept in ExportPart rows, encrypted a piece at a time; its size here.
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(null=True)
    rows_done = models.PositiveIntegerField(default=0)
    failure = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True)
    heartbeat_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"


class ExportPart(models.Model):
    """One piece of an export job's finished file (EXPORT_PART_BYTES of it), encrypted on its own:
    the file is stored and downloaded a piece at a time, never held whole in memory (a
    500,000-row export is about 45 MB, and held whole, with its encrypted copy and the copy sent
    to the database, it took the worker to 629 MB)."""

    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="jobs_exportpart_unique_number")
        ]

    def __str__(self):
        return f"{self.job_id}:{self.number}"
