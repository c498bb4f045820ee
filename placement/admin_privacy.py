"""The worker admin's handling of ID numbers and phones: masked everywhere, revealed in full only
by an explicit, logged POST by a user with the permission, and looked up without ever travelling
in a URL (the changelist's search is a GET whose query string lands in access logs)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import idnumbers
from .access import can_see_full_id, worker_reveal

WORKER_NOT_FOUND = _("在您的权限范围内没有找到该公民身份号码的职工")


class FindByIdNumberForm(forms.Form):
    id_number = forms.CharField(label=_("公民身份号码"), max_length=30)


class WorkerPrivacyMixin:
    """Masked ID number and phone on the worker's page, a logged reveal, a lookup by POST."""

    change_form_template = "admin/placement/worker/change_form.html"
    change_list_template = "admin/placement/worker/change_list.html"

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("find/", self.admin_site.admin_view(self.find_view), name=f"{prefix}_find"),
            path(
                "<path:object_id>/reveal/",
                self.admin_site.admin_view(require_POST(never_cache(self.reveal_view))),
                name=f"{prefix}_reveal",
            ),
        ] + super().get_urls()

    def _url_name(self, view: str) -> str:
        return f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}"

    @admin.display(description=_("公民身份号码"))
    def id_number_on_page(self, obj):
        # The worker's page also shows the birth date: the usual mask would hide exactly that.
        return idnumbers.mask_beside_birth_date(obj.id_number) if obj.id_number else ""

    @admin.display(description=_("联系电话（现）"))
    def masked_phone(self, obj):
        return idnumbers.mask_phone(obj.phone)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_reveal"] = can_see_full_id(request.user)
        extra_context["reveal_url"] = reverse(
            self._url_name("reveal"),
            args=[object_id],
        )
        return super().change_view(request, object_id, form_url, extra_context)

    def reveal_view(self, request, object_id):
        """POST only: show one worker's full ID number and phone, and log the reveal."""
        worker = self.get_object(request, object_id)
        if worker is None:
            raise Http404
        if not self.has_view_or_change_permission(request, worker) or not can_see_full_id(
            request.user
        ):
            raise PermissionDenied
        revealed = worker_reveal(user=request.user, worker=worker, request=request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("完整号码"),
            "worker": worker,
            "revealed": revealed,
            "change_url": reverse(
                self._url_name("change"),
                args=[worker.pk],
            ),
        }
        response = TemplateResponse(request, "admin/placement/worker/reveal.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def find_view(self, request):
        """Find a worker by full ID number, sent by POST so that the number stays out of URLs;
        a number outside the user's scope is "not found", like a number never registered."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = FindByIdNumberForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                worker = (
                    self.get_queryset(request)
                    .by_id_number(form.cleaned_data["id_number"])
                    .only("pk")
                    .first()
                )
            except ValidationError:
                worker = None
            if worker is not None:
                return HttpResponseRedirect(
                    reverse(
                        self._url_name("change"),
                        args=[worker.pk],
                    )
                )
            messages.warning(request, WORKER_NOT_FOUND)
            form = FindByIdNumberForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("按公民身份号码查找职工"),
            "form": form,
        }
        return TemplateResponse(request, "admin/placement/worker/find.html", context)
