"""Normalized forms of names and phone numbers, for search and duplicate detection."""

import re
import unicodedata

_NON_DIGITS = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")


def name_key(*parts: str) -> str:
    """Lower-case, accents removed, punctuation dropped, single spaces: 'José  O'Brien' →
    'jose obrien'."""
    text = " ".join(p for p in parts if p)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = "".join(c for c in text.lower() if c.isalnum() or c.isspace())
    return _SPACES.sub(" ", text).strip()


def phone_key(phone: str) -> str:
    """Digits only, without a leading trunk zero: '+61 (0)412 345-678' → '61412345678',
    '0412 345 678' → '412345678'. Matching uses containment, so both forms meet."""
    digits = _NON_DIGITS.sub("", phone or "")
    return digits.lstrip("0")


def email_key(email: str) -> str:
    return (email or "").strip().lower()
