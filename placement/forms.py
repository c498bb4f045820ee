"""Admin forms: the worker form takes the ID number as typed and stores it through idnumbers."""

import uuid

from django import forms
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import rules, services
from .access import LookupLimitReached, access_log_record, lookup_limit_check
from .models import AccessLog, DiversionSource, Placement, Worker
from .services import worker_identity_check

# The per-minute limit reached through the form: said as what the officer did (typing numbers).
FORM_CHECKS_LIMIT = _(
    "一分钟内核对的身份证号码已达 %(limit)s 个，请稍后再试；成批登记职工请使用花名册导入"
)

# The hidden fields of the forms below, named in the admin's fieldsets.
VERSION_FIELD = "version"
SUBMISSION_FIELD = "submission"


class _Unchanging:
    """A hidden field that the page carries and never counts as a change (else every form
    would look edited, and the admin's change message would name it)."""

    widget = forms.HiddenInput

    def has_changed(self, initial, data) -> bool:
        return False


class VersionField(_Unchanging, forms.IntegerField):
    pass


class TokenField(_Unchanging, forms.UUIDField):
    pass


class EditVersionForm(forms.ModelForm):
    """A change form that carries the version of the row it shows (services.edit_version) and
    refuses to save over a change made meanwhile by someone else (services.edit_check): the
    error names who and when, the user's input stays on the page, and the page now carries the
    new version, so that saving again after checking is the user's decision."""

    version = VersionField(required=False, min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial[VERSION_FIELD] = services.edit_version(self.instance)

    def _post_clean(self):
        # After the ModelForm's own: the instance then holds the submitted values, which a
        # form posted twice compares with the stored row.
        super()._post_clean()
        version = self.cleaned_data.get(VERSION_FIELD)
        if self.instance.pk is None or version is None or self.errors:
            return
        try:
            services.edit_check(obj=self.instance, version=version)
        except services.EditConflict as conflict:
            self.add_error(None, conflict)
            data = self.data.copy()
            data[self.add_prefix(VERSION_FIELD)] = conflict.version
            self.data = data
        except ValidationError as error:
            self.add_error(None, error)


class SubmittedOnceForm(forms.ModelForm):
    """A page's main form: a one-time token, so that the page posted twice saves once (the
    admin's SubmittedOnceAdminMixin claims it)."""

    submission = TokenField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial[SUBMISSION_FIELD] = uuid.uuid4()


PLACEMENT_FIELDS = [
    "channel",
    "placed_on",
    "destination_unit",
    "destination_region",
    "employed_elsewhere_insured_at_home",
    "ended_on",
    "note",
]


class PlacementForm(SubmittedOnceForm, EditVersionForm):
    """The placement's own page."""

    class Meta:
        model = Placement
        fields = ["worker", *PLACEMENT_FIELDS]


class PlacementInlineForm(EditVersionForm):
    """A placement on its worker's page (whose own form carries the page's token)."""

    class Meta:
        model = Placement
        fields = PLACEMENT_FIELDS


class WorkerForm(SubmittedOnceForm, EditVersionForm):
    """Takes the ID number in any accepted spelling; sex and birth date are derived from it."""

    # The admin sets the request (WorkerAdmin.get_form): a number registered elsewhere is told
    # as this user may be told it. Without one, the form answers as to a user who sees nothing.
    request = None

    id_number = forms.CharField(
        label=_("公民身份号码"),
        max_length=30,
        help_text=_("18 位（旧式 15 位自动转换）；性别与出生日期由号码自动得出"),
    )

    class Meta:
        model = Worker
        fields = [
            "enterprise",
            "name",
            "id_number",
            "status",
            "post",
            "special_work_type",
            "hire_date",
            "phone",
            "employment_difficulty",
            "diversion_year",
            "registered_on",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "id_number" in self.fields:
            # The stored number is not put back into the form; typing a new one corrects it.
            self.fields["id_number"].required = False
            self.fields["id_number"].label = _("更正公民身份号码")
            self.fields["id_number"].help_text = _("留空则保持原号码不变；填写则更正为新号码")
        if self.instance.pk and "phone" in self.fields:
            # Nor the phone: the page shows it masked; a user with the permission reveals it.
            self.initial["phone"] = ""
            self.fields["phone"].help_text = _("留空则保持原号码不变；填写则更正为新号码")
        if "registered_on" in self.fields:
            # Typed here, the date is the worker's own; left blank, the enterprise's applies.
            self.fields["registered_on"].required = False
            self.fields["registered_on"].help_text = _(
                "自此日起计入需安置人数。留空则取所在企业的分流安置方案实施日期，"
                "企业未填写时取登记之日"
            )
            if not self.instance.pk:
                self.initial["registered_on"] = None
            # Kept before validation writes the posted value onto the instance.
            self._stored_registered_on = self.instance.registered_on

    def clean_phone(self):
        typed = self.cleaned_data.get("phone", "")
        return typed or (self.instance.phone if self.instance.pk else "")

    def clean(self):
        cleaned = super().clean()
        if "registered_on" in self.fields:
            self._clean_diversion(cleaned)
        birth_date = self.instance.birth_date if self.instance.pk else None
        typed = cleaned.get("id_number")
        if typed:
            user = self.request.user if self.request is not None else AnonymousUser()
            if self.request is not None:
                # The answer says whether the number is registered anywhere: a guess confirmed
                # or denied, as a search by number is. Limited per minute with the searches.
                try:
                    lookup_limit_check(user=user, request=self.request, target="placement.worker")
                except LookupLimitReached:
                    self.add_error(
                        "id_number",
                        FORM_CHECKS_LIMIT % {"limit": settings.LEDGER_LOOKUPS_PER_MINUTE},
                    )
                    return cleaned
            registered = False
            try:
                parsed = worker_identity_check(
                    id_number=typed,
                    enterprise=cleaned.get("enterprise"),
                    exclude_pk=self.instance.pk,
                    user=user,
                    request=self.request,
                )
            except ValidationError as exc:
                for field, errors in exc.error_dict.items():
                    registered |= any(e.code == "id_number_registered" for e in errors)
                    self.add_error("id_number" if field not in self.fields else field, errors)
            else:
                self.instance.set_id_number(parsed)
                birth_date = parsed.birth_date
            if self.request is not None:
                # Every check, found or not (the number itself is never written).
                access_log_record(
                    user=user,
                    action=AccessLog.Action.CHECK,
                    target="placement.worker",
                    rows=int(registered),
                    full_numbers=False,
                    request=self.request,
                )
        # The database refuses it too (a 500 there): said on the field, as the import says it.
        for field, error in rules.hire_date_errors(
            birth_date=birth_date, hire_date=cleaned.get("hire_date")
        ).items():
            if field in self.fields:
                self.add_error(field, error)
        return cleaned

    def _clean_diversion(self, cleaned) -> None:
        """The diversion date and where it came from: typed on this page, else the enterprise's
        date, else the day of registration (a stored worker keeps theirs)."""
        typed = cleaned.get("registered_on")
        if typed and typed > timezone.localdate() and typed != self._stored_registered_on:
            # As the import refuses it: a worker diverted in the future is not on the list yet.
            self.add_error("registered_on", rules.DIVERSION_DATE_IN_FUTURE)
            return
        # Compared with the stored date rather than through changed_data: a field whose model
        # default is callable compares with a hidden initial input, which a script may not send.
        if typed and (not self.instance.pk or typed != self._stored_registered_on):
            self.instance.registered_on_source = DiversionSource.ENTERED
            return
        if typed:
            return
        enterprise = cleaned.get("enterprise")
        if enterprise is not None and enterprise.diversion_date:
            cleaned["registered_on"] = enterprise.diversion_date
            self.instance.registered_on_source = DiversionSource.ENTERPRISE
        elif self.instance.pk:
            cleaned["registered_on"] = self.instance.registered_on
        else:
            cleaned["registered_on"] = timezone.localdate()
            self.instance.registered_on_source = DiversionSource.IMPORT
