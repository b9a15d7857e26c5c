"""Upload checks: the content decides the type (never the name), and sizes are capped."""

from PIL import Image, UnidentifiedImageError

from caresync.core.errors import ApplicationError

IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_IMAGE_PIXELS = 40_000_000


def _refuse(field: str, code: str, message: str) -> ApplicationError:
    return ApplicationError(
        message, code=code, status_code=400, fields={field: [{"code": code, "message": message}]}
    )


def image_checked(upload, *, field: str = "photo", max_bytes: int) -> str:
    """Verify an uploaded image by its content; return its file extension."""
    if upload.size > max_bytes:
        raise _refuse(
            field, "file_too_large", f"The image is larger than {max_bytes // (1024 * 1024)} MB."
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _refuse(field, "invalid_image", "The file is not a readable image.") from exc
    finally:
        upload.seek(0)
    if image_format not in IMAGE_FORMATS:
        raise _refuse(field, "unsupported_image_type", "Use a JPEG, PNG or WebP image.")
    if width * height > MAX_IMAGE_PIXELS:
        raise _refuse(field, "image_too_large", "The image has too many pixels.")
    return IMAGE_FORMATS[image_format]
