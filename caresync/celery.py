"""The Celery application: configured from Django settings (``CELERY_*``)."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caresync.settings")

app = Celery("caresync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_filesystem_broker_folders() -> None:
    """Create the folders the server-less file-system broker and beat write to."""
    conf = app.conf
    options = conf.broker_transport_options or {}
    folders = [options.get(key) for key in ("data_folder_in", "data_folder_out", "control_folder")]
    folders.append(str(Path(conf.beat_schedule_filename).parent))
    for folder in filter(None, folders):
        Path(folder).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _prepare_folders(sender, **kwargs) -> None:
    ensure_filesystem_broker_folders()
