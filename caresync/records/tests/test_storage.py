"""Files go through Django's storage API: local and private by default, an S3-compatible
bucket when STORAGE_BUCKET is set; no public media URL exists in either case."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parents[3]


def storage_settings(**env) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STORAGE_", "DATABASE_URL"))}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import json; from django.conf import settings; "
            "print(json.dumps(settings.STORAGES['default']))",
        ],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_files_are_local_and_private_by_default():
    assert storage_settings()["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_s3_bucket_switches_to_private_s3_storage():
    default = storage_settings(
        STORAGE_BUCKET="caresync-files",
        STORAGE_ENDPOINT_URL="http://127.0.0.1:9000",
        STORAGE_SECRET_ACCESS_KEY="not-a-real-key",
    )
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    options = default["OPTIONS"]
    assert options["bucket_name"] == "caresync-files"
    assert options["endpoint_url"] == "http://127.0.0.1:9000"
    assert options["default_acl"] == "private"
    assert options["file_overwrite"] is False


def test_no_url_serves_stored_files_directly():
    for path in ("/media/clinical/1/x.pdf", "/clinical/1/x.pdf"):
        try:
            match = resolve(path)
        except Resolver404:
            continue
        raise AssertionError(f"{path} is served by {match.func}")
