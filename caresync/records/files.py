"""Attachment checks: the content decides the type (magic bytes, and images must decode),
the name's extension must not claim another type, and sizes are capped."""

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from PIL import Image, UnidentifiedImageError

from caresync.core.errors import ApplicationError


@dataclass(frozen=True)
class FileKind:
    kind: str
    content_type: str
    extension: str
    extensions: frozenset[str]


PDF = FileKind("pdf", "application/pdf", "pdf", frozenset({".pdf"}))
PNG = FileKind("png", "image/png", "png", frozenset({".png"}))
JPEG = FileKind("jpeg", "image/jpeg", "jpg", frozenset({".jpg", ".jpeg", ".jpe"}))
DICOM = FileKind("dicom", "application/dicom", "dcm", frozenset({".dcm", ".dicom", ""}))
KINDS = {kind.kind: kind for kind in (PDF, PNG, JPEG, DICOM)}
ALLOWED_LABEL = "PDF, PNG, JPEG or DICOM"


def _refuse(code: str, message: str) -> ApplicationError:
    return ApplicationError(
        message, code=code, status_code=400, fields={"file": [{"code": code, "message": message}]}
    )


def sniff(head: bytes) -> FileKind | None:
    """The allowed type the first bytes of a file show, if any."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    return None


def _image_decodes(upload) -> bool:
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        return False
    finally:
        upload.seek(0)
    return True


def attachment_checked(upload, *, max_bytes: int) -> tuple[FileKind, str]:
    """Verify an upload by its content; return its type and SHA-256 hex digest."""
    size = upload.size or 0
    if size > max_bytes:
        raise _refuse(
            "file_too_large", f"The file is larger than {max_bytes / (1024 * 1024):g} MB."
        )
    if size == 0:
        raise _refuse("empty_file", "The file is empty.")
    upload.seek(0)
    head = upload.read(512)
    upload.seek(0)
    kind = sniff(head)
    if kind is None:
        raise _refuse("unsupported_file_type", f"Upload a {ALLOWED_LABEL} file.")
    if kind in (PNG, JPEG) and not _image_decodes(upload):
        raise _refuse("invalid_image", "The image is damaged or not really an image.")
    extension = PurePosixPath(upload.name or "").suffix.lower()
    claimed = next((k for k in KINDS.values() if extension in k.extensions), None)
    if extension and claimed is not kind:
        raise _refuse(
            "type_mismatch",
            f"The file's name says {extension} but its content is {kind.kind.upper()}.",
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return kind, digest.hexdigest()


def safe_display_name(name: str) -> str:
    """The base name a person gave the file, without folders or control characters."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>')
    return cleaned[:200] or "attachment"
