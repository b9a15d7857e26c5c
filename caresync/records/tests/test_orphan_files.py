"""A stored file never outlives a rolled-back upload: the upload deletes it when its row
cannot be saved, and the periodic sweep deletes files whose transaction rolled back after
the upload returned (once they are older than the grace period)."""

import os
import time
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from caresync.records.models import Attachment
from caresync.records.services import ORPHAN_GRACE, attachment_upload
from caresync.records.tasks import sweep_orphan_attachments
from caresync.records.tests.conftest import PDF_BYTES

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def stored_files(root):
    folder = root / "clinical"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def upload(chart, name="scan.pdf"):
    return attachment_upload(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        upload=SimpleUploadedFile(name, PDF_BYTES),
    )


def test_the_sweep_is_scheduled():
    entry = django_settings.CELERY_BEAT_SCHEDULE["sweep-orphan-attachments"]
    assert entry["task"] == sweep_orphan_attachments.name


def test_a_row_that_cannot_be_saved_takes_its_stored_file_with_it(chart, settings):
    with (
        mock.patch.object(Attachment, "save", side_effect=RuntimeError("database gone")),
        pytest.raises(RuntimeError),
    ):
        upload(chart)
    assert stored_files(settings.MEDIA_ROOT) == []


def test_a_rolled_back_upload_leaves_no_file_after_the_sweep(chart, settings):
    with pytest.raises(Rollback), transaction.atomic():
        upload(chart)
        raise Rollback
    assert not Attachment.objects.exists()
    (orphan,) = stored_files(settings.MEDIA_ROOT)
    age(orphan, ORPHAN_GRACE.total_seconds() + 60)
    assert sweep_orphan_attachments() == 1
    assert stored_files(settings.MEDIA_ROOT) == []


def test_a_file_with_its_row_is_never_deleted(chart, settings):
    kept = upload(chart)
    path = settings.MEDIA_ROOT / kept.file.name
    age(path, 30 * 24 * 3600)
    assert sweep_orphan_attachments() == 0
    assert path.read_bytes() == PDF_BYTES


def test_a_fresh_orphan_is_kept_within_the_grace_period(chart, settings):
    with pytest.raises(Rollback), transaction.atomic():
        upload(chart)
        raise Rollback
    (orphan,) = stored_files(settings.MEDIA_ROOT)
    age(orphan, ORPHAN_GRACE.total_seconds() - 300)
    assert sweep_orphan_attachments() == 0
    assert orphan.exists()


def test_the_sweep_without_any_upload_does_nothing(settings):
    assert sweep_orphan_attachments() == 0
