"""Rich text of clinical notes: an allow-list sanitizer (nh3, the Ammonia HTML sanitizer).

Whatever the browser's editor sends, only simple formatting survives: no scripts, event
handlers, styles, frames, forms or ``javascript:`` links. Plain text (no tags) becomes
paragraphs, so forms work without the editor's script.
"""

import html
import re

import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "blockquote",
    "a",
    "code",
    "pre",
    "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_HTML_LENGTH = 100_000
_TAG = re.compile(r"<[a-zA-Z/!]")
_EMPTY = re.compile(r"^(?:\s|<p>\s*(?:<br>)?\s*</p>|<br>|&nbsp;)*$")


def clinical_html(text: str | None) -> str:
    """Sanitized HTML for a note section; ``""`` when nothing visible is left."""
    text = (text or "").strip()
    if not text:
        return ""
    if not _TAG.search(text):
        paragraphs = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]
        text = "".join(
            "<p>" + html.escape(part).replace("\n", "<br>") + "</p>" for part in paragraphs
        )
    cleaned = nh3.clean(
        text,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        clean_content_tags={"script", "style"},
    ).strip()
    if _EMPTY.match(cleaned):
        return ""
    # Stray text left by removed markup stays HTML (a paragraph), so cleaning is idempotent.
    return cleaned if _TAG.search(cleaned) else f"<p>{cleaned}</p>"


def plain_text(value: str) -> str:
    """The words of sanitized HTML, for previews and search."""
    without_tags = re.sub(r"<[^>]+>", " ", value or "")
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()
