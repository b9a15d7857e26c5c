"""Notification templates in a sandbox: Django's template language with an allow-list of
tags, filters and variables, rendered over plain strings (never model instances), with no
template loading. ``template_problems`` explains what an editor may not use."""

import re
from functools import lru_cache

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Lexer, TokenType

# Variables a template may use: {{ group.name }}. The context holds nothing else.
ALLOWED_VARIABLES: dict[str, tuple[str, ...]] = {
    "patient": ("first_name", "name"),
    "practitioner": ("name",),
    "appointment": (
        "when",
        "date",
        "time",
        "end_time",
        "time_zone",
        "status",
        "reference",
        "previous_when",
    ),
    "service": ("name", "preparation"),
    "location": ("name", "address", "phone"),
    "organization": ("name", "phone", "email"),
    "reminder": ("lead",),
    "offer": ("expires",),
    "links": ("appointment", "appointments", "claim", "notifications", "reports"),
}
ALLOWED_TAGS = frozenset(
    {"if", "elif", "else", "endif", "firstof", "comment", "endcomment", "spaceless", "endspaceless"}
)
ALLOWED_FILTERS = frozenset(
    {
        "default",
        "upper",
        "lower",
        "title",
        "capfirst",
        "truncatechars",
        "truncatewords",
        "linebreaksbr",
        "yesno",
    }
)
_FILTER = re.compile(r"\|\s*([A-Za-z_]\w*)")
_LITERAL = re.compile(r"""^(".*"|'.*'|-?\d+(\.\d+)?)$""")


class TemplateProblem(ValueError):
    pass


def template_problems(source: str) -> list[str]:
    """Why ``source`` may not be used as a notification template (empty: it may)."""
    problems: list[str] = []
    try:
        tokens = Lexer(source).tokenize()
    except TemplateSyntaxError as exc:
        return [str(exc)]
    for token in tokens:
        if token.token_type not in (TokenType.VAR, TokenType.BLOCK):
            continue
        for name in _FILTER.findall(token.contents):
            if name not in ALLOWED_FILTERS:
                problems.append(f"The filter “{name}” is not available.")
        if token.token_type == TokenType.BLOCK:
            bits = token.split_contents()
            tag = bits[0] if bits else ""
            if tag not in ALLOWED_TAGS:
                problems.append(f"The tag “{{% {tag} %}}” is not available.")
                continue
            names = [b for b in bits[1:] if b not in ("and", "or", "not", "==", "!=", "in")]
        else:
            names = [token.contents.split("|")[0].strip()]
        for name in names:
            variable = name.split("|")[0].strip()
            if not variable or _LITERAL.match(variable):
                continue
            group, _, attribute = variable.partition(".")
            if attribute not in ALLOWED_VARIABLES.get(group, ()):
                problems.append(f"Unknown variable “{variable}”.")
    if not problems:
        try:
            _engine(False).from_string(source)
        except TemplateSyntaxError as exc:
            problems.append(str(exc))
    return list(dict.fromkeys(problems))


@lru_cache(maxsize=2)
def _engine(autoescape: bool) -> Engine:
    # No loaders and no extra libraries: {% include %}, {% extends %} and {% load %} find
    # nothing, and the tag allow-list refuses them before rendering anyway.
    return Engine(loaders=[], libraries={}, autoescape=autoescape, string_if_invalid="")


def render_template(source: str, context: dict, *, autoescape: bool = False) -> str:
    """Render ``source`` over ``context`` (plain dicts of strings); raise TemplateProblem if
    it uses anything outside the allow-lists."""
    problems = template_problems(source)
    if problems:
        raise TemplateProblem(" ".join(problems))
    allowed = {
        group: {key: str(values.get(key, "") or "") for key in ALLOWED_VARIABLES[group]}
        for group, values in context.items()
        if group in ALLOWED_VARIABLES and isinstance(values, dict)
    }
    template = _engine(autoescape).from_string(source)
    return template.render(Context(allowed, autoescape=autoescape)).strip()


GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ!\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[int, str]:
    """(segments, encoding) of an SMS: GSM-7 fits 160 characters in one message and 153
    per part when split; anything outside GSM-7 makes it UCS-2 (70, then 67 per part)."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        length = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        length = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, part, encoding = 70, 67, "UCS-2"
    if length <= single:
        return (1 if length else 0), encoding
    return -(-length // part), encoding
