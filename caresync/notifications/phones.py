"""Phone numbers in E.164 for SMS: '+61 412 345 678' stays; a national number ('0412 345
678') gets the organization's country code."""

import re

# ITU country calling codes of the countries CareSync organizations are in; others need
# numbers entered with their + code.
CALLING_CODES = {
    "AU": "61",
    "NZ": "64",
    "NP": "977",
    "IN": "91",
    "GB": "44",
    "IE": "353",
    "US": "1",
    "CA": "1",
    "ZA": "27",
    "SG": "65",
}
_NOT_DIGITS = re.compile(r"[^\d+]")


def e164(phone: str, country: str = "") -> str:
    """The number in E.164, or '' when it cannot be made one."""
    text = _NOT_DIGITS.sub("", phone or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        code = CALLING_CODES.get((country or "").upper())
        if not code or not text:
            return ""
        text = f"+{code}{text.lstrip('0')}"
    digits = text[1:]
    if "+" in digits or not 7 <= len(digits) <= 15:
        return ""
    return text
