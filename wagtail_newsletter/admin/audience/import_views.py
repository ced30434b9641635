"""The admin import wizard: upload → column mapping → dry-run summary → import → result.

The dry run and the import run in django-q2 tasks (``audience.import_tasks``); the pages show the
``ImportJob`` row, which is the source of truth. Everything needs the "add subscriber" permission.
"""

import csv
import io
import itertools

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import avoid_wrapping
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView, View
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet

from ... import taskqueue
from ...audience.import_job import ImportJob
from ...audience.import_readers import ImportFileError, cell_text, open_table
from ...audience.importing import InvalidMapping, custom_fields, guess_mapping, resolve_mapping, target_choices
from ...audience.models import Group, Subscriber
from ...conf import newsletter_settings
from ..permissions import user_can

SAMPLE_ROWS = 3
SHOWN_REJECTS = 20


# Django's own wording of sizes (translated in its catalogue), for a limit in whole units.
WHOLE_UNITS = ((1024**3, gettext_lazy("%s GB")), (1024**2, gettext_lazy("%s MB")), (1024, gettext_lazy("%s KB")))


def size_text(size):
    """A byte count as people write it: "200 MB" where ``filesizeformat`` says "200.0 MB"."""
    unit, text = next(((unit, text) for unit, text in WHOLE_UNITS if size >= unit), (1, None))
    return avoid_wrapping(text % (size // unit)) if text and size % unit == 0 else filesizeformat(size)


def can_import(user):
    return user_can(user, Subscriber, "add")


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or Excel (.xlsx) file"))
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Add the imported subscribers to these groups"),
    )
    new_group = forms.CharField(
        max_length=150, required=False, label=gettext_lazy("…and to a new group named"), strip=True
    )
    consent = forms.BooleanField(
        label=gettext_lazy("Every contact in this file agreed to receive our newsletters."),
        error_messages={"required": gettext_lazy("Only contacts who consented may be imported.")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = newsletter_settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise ValidationError(_("The file is larger than %(limit)s.") % {"limit": size_text(limit)})
        try:
            self.headers = open_table(upload).headers
        except ImportFileError as exc:
            raise ValidationError(str(exc)) from exc
        upload.seek(0)
        return upload

    def clean_new_group(self):
        name = self.cleaned_data["new_group"]
        if name and Group.objects.filter(name__iexact=name).exists():
            raise ValidationError(_("A group with this name exists: tick it above instead."))
        return name


class MappingForm(forms.Form):
    """One select per column of the file; defaults guessed from the headers."""

    def __init__(self, *args, headers, mapping, fields, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers, self.custom = headers, fields
        choices = target_choices(fields)
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("(column %(number)d)") % {"number": index + 1},
                choices=choices,
                required=False,
                initial=mapping.get(header, ""),
            )

    def clean(self):
        mapping = {}
        for index, header in enumerate(self.headers):
            mapping.setdefault(header, self.cleaned_data.get(f"column_{index}", ""))
        try:
            resolve_mapping(self.headers, mapping, self.custom)
        except InvalidMapping as exc:
            raise ValidationError(str(exc)) from exc
        self.mapping = mapping
        return self.cleaned_data


class ImportViewMixin(WagtailAdminTemplateMixin):
    header_icon = "upload"
    page_title = gettext_lazy("Import subscribers")

    def dispatch(self, request, *args, **kwargs):
        if not can_import(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": reverse("newsletter_import:upload"), "label": self.page_title}]

    def get_job(self):
        return get_object_or_404(ImportJob, pk=self.kwargs["pk"])


class UploadView(ImportViewMixin, FormView):
    template_name = "wagtail_newsletter/admin/import/upload.html"
    form_class = UploadForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["recent_jobs"] = ImportJob.objects.all()[:10]
        context["max_size"] = size_text(newsletter_settings.IMPORT_MAX_UPLOAD_BYTES)
        context["submit_button_label"] = _("Upload")
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        with transaction.atomic():
            job = ImportJob(original_name=upload.name[-255:], created_by=self.request.user)
            job.mapping = guess_mapping(form.headers)
            job.file.save(upload.name, upload, save=False)
            job.save()
            groups = list(form.cleaned_data["groups"])
            if form.cleaned_data["new_group"]:
                groups.append(Group.objects.create(name=form.cleaned_data["new_group"]))
            job.groups.set(groups)
        return redirect("newsletter_import:mapping", pk=job.pk)


class MappingView(ImportViewMixin, FormView):
    template_name = "wagtail_newsletter/admin/import/mapping.html"
    page_subtitle = gettext_lazy("Columns")

    def dispatch(self, request, *args, **kwargs):
        self.job = None
        return super().dispatch(request, *args, **kwargs)

    def get_form(self, form_class=None):
        self.job = self.job or self.get_job()
        if self.job.state not in (ImportJob.State.UPLOADED, ImportJob.State.CHECKED, ImportJob.State.FAILED):
            raise PermissionDenied  # running or done: the mapping can no longer change
        self.file_error = ""
        try:
            with self.job.file.open("rb") as fileobj:
                table = open_table(fileobj)
                self.headers = table.headers
                self.samples = [values for _line, values in itertools.islice(table.rows(), SAMPLE_ROWS)]
        except (ImportFileError, OSError) as exc:
            self.headers, self.samples, self.file_error = [], [], str(exc)
        kwargs = self.get_form_kwargs()
        return MappingForm(headers=self.headers, mapping=self.job.mapping, fields=custom_fields(), **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context["job"] = self.job
        context["file_error"] = self.file_error
        context["columns"] = [
            (form[f"column_{index}"], [cell_text(row[index]) if index < len(row) else "" for row in self.samples])
            for index in range(len(self.headers))
        ]
        context["submit_button_label"] = _("Check the file")
        return context

    def form_valid(self, form):
        with transaction.atomic():
            self.job.mapping = form.mapping
            self.job.state = ImportJob.State.CHECKING
            self.job.error = ""
            self.job.save(update_fields=["mapping", "state", "error"])
            taskqueue.enqueue_on_commit("wagtail_newsletter.audience.import_tasks.check_import_task", self.job.pk)
        return redirect("newsletter_import:job", pk=self.job.pk)


def first_rejects(rejects_csv):
    """The first rejected rows of a job's "line,email,reason" CSV as (line, value, reason) triples."""
    rows = csv.reader(io.StringIO(rejects_csv))
    return [tuple(row) for row in itertools.islice(rows, 1, SHOWN_REJECTS + 1) if len(row) == 3]


class JobView(ImportViewMixin, TemplateView):
    """The dry-run summary (with the button that starts the import), progress, or the result."""

    template_name = "wagtail_newsletter/admin/import/job.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = context["job"] = self.get_job()
        context["State"] = ImportJob.State
        context["busy"] = job.state in (ImportJob.State.CHECKING, ImportJob.State.RUNNING)
        context["first_rejects"] = first_rejects(job.rejects_csv)
        context["groups"] = list(job.groups.all())
        return context

    def get_page_subtitle(self):
        return self.get_job().original_name

    def post(self, request, *args, **kwargs):
        with transaction.atomic():
            started = ImportJob.objects.filter(pk=kwargs["pk"], state=ImportJob.State.CHECKED).update(
                state=ImportJob.State.RUNNING
            )
            if started:
                taskqueue.enqueue_on_commit("wagtail_newsletter.audience.import_tasks.run_import_task", kwargs["pk"])
        return redirect("newsletter_import:job", pk=kwargs["pk"])


class RejectsDownloadView(ImportViewMixin, View):
    def get(self, request, *args, **kwargs):
        job = self.get_job()
        response = HttpResponse(job.rejects_csv, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rejected-rows-{job.pk}.csv"'
        return response


class ImportMenuItem(MenuItem):
    def is_shown(self, request):
        return can_import(request.user)


class ImportViewSet(ViewSet):
    """Included in the "Newsletter" menu group by ``admin.viewsets``."""

    menu_label = gettext_lazy("Import")
    icon = "upload"
    add_to_admin_menu = False
    menu_item_class = ImportMenuItem

    def get_urlpatterns(self):
        return [
            path("", UploadView.as_view(), name="upload"),
            path("<int:pk>/columns/", MappingView.as_view(), name="mapping"),
            path("<int:pk>/", JobView.as_view(), name="job"),
            path("<int:pk>/rejected-rows.csv", RejectsDownloadView.as_view(), name="rejects"),
        ]


import_viewset = ImportViewSet("newsletter_import")
