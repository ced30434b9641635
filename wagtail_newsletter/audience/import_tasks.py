"""django-q2 tasks of the admin import wizard: the dry run, then the import. Both take an ImportJob id.

The job row is the source of truth: a task only acts on a job in the state that asked for it, so a
task delivered twice does nothing the second time.
"""

import io

from django.utils import timezone

from .import_job import ImportJob
from .import_readers import ImportFileError, open_table
from .importing import import_subscribers, write_rejects_csv


def _run(job, dry_run):
    with job.file.open("rb") as fileobj:
        table = open_table(fileobj)
        return import_subscribers(
            table, job.mapping, list(job.groups.all()), dry_run=dry_run, actor=job.created_by,
            note=f"import {job.original_name}"[:255],
        )  # fmt: skip


def _store(job, result, state):
    out = io.StringIO()
    write_rejects_csv(out, result.rejects, result.rejected)
    job.rows_read = result.rows_read
    job.created, job.updated, job.rejected = result.created, result.updated, result.rejected
    job.rejects_csv = out.getvalue()
    job.state = state
    job.error = ""


def check_import_task(job_id):
    """Dry run: count what the import would create, update and reject; write nothing."""
    job = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.CHECKING).first()
    if job is None:
        return None
    try:
        result = _run(job, dry_run=True)
    except ImportFileError as exc:
        job.state, job.error = ImportJob.State.FAILED, str(exc)
        job.save(update_fields=["state", "error"])
        return None
    _store(job, result, ImportJob.State.CHECKED)
    job.save()
    return result.summary


def run_import_task(job_id):
    """The import itself; the uploaded file is deleted once imported (it holds personal data)."""
    job = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.RUNNING, finished_at__isnull=True).first()
    if job is None:
        return None
    try:
        result = _run(job, dry_run=False)
    except ImportFileError as exc:
        job.state, job.error, job.finished_at = ImportJob.State.FAILED, str(exc), timezone.now()
        job.save(update_fields=["state", "error", "finished_at"])
        return None
    _store(job, result, ImportJob.State.DONE)
    job.finished_at = timezone.now()
    job.file.delete(save=False)
    job.save()
    return result.summary
