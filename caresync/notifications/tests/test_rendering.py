"""The template sandbox: only allow-listed tags, filters and variables, over strings."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresync.notifications.defaults import DEFAULTS
from caresync.notifications.rendering import (
    TemplateProblem,
    render_template,
    sms_segments,
    template_problems,
)

CONTEXT = {
    "patient": {"first_name": "Ada", "name": "Ada Lovelace"},
    "appointment": {"when": "Mon 2 Mar 2026, 10:00 am AEDT"},
    "organization": {"name": "Alpha <Clinic>"},
}


def test_allowed_variables_and_filters_render():
    text = render_template("Hi {{ patient.first_name|upper }}, {{ appointment.when }}", CONTEXT)
    assert text == "Hi ADA, Mon 2 Mar 2026, 10:00 am AEDT"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{% load static %}", "tag"),
        ("{% include 'base.html' %}", "tag"),
        ("{% debug %}", "tag"),
        ("{% extends 'base.html' %}", "tag"),
        ("{% for x in patient %}{% endfor %}", "tag"),
        ("{{ patient.first_name|safe }}", "filter"),
        ("{{ patient.medical_history }}", "Unknown variable"),
        ("{{ settings.SECRET_KEY }}", "Unknown variable"),
        ("{{ patient.__class__ }}", "Unknown variable"),
        ("{% if patient.user.password %}x{% endif %}", "Unknown variable"),
    ],
)
def test_templates_outside_the_allow_list_are_refused(source, problem):
    problems = template_problems(source)
    assert problems and any(problem in p for p in problems), problems
    with pytest.raises(TemplateProblem):
        render_template(source, CONTEXT)


def test_values_outside_the_allow_list_never_reach_the_template():
    context = {**CONTEXT, "patient": {"first_name": "Ada", "medical_history": "Asthma"}}
    context["secret"] = {"name": "leak"}
    assert render_template("{{ patient.name }}|{{ patient.first_name }}", context) == "|Ada"


def test_html_is_escaped_in_html_and_kept_in_text():
    assert render_template("{{ organization.name }}", CONTEXT) == "Alpha <Clinic>"
    html = render_template("<b>{{ organization.name }}</b>", CONTEXT, autoescape=True)
    assert html == "<b>Alpha &lt;Clinic&gt;</b>"


def test_every_shipped_default_is_valid():
    for (key, channel), default in DEFAULTS.items():
        assert template_problems(default.subject) == [], (key, channel)
        assert template_problems(default.body) == [], (key, channel)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (0, "GSM-7")),
        ("a" * 160, (1, "GSM-7")),
        ("a" * 161, (2, "GSM-7")),
        ("a" * 306, (2, "GSM-7")),
        ("a" * 307, (3, "GSM-7")),
        ("€" * 80, (1, "GSM-7")),
        ("€" * 81, (2, "GSM-7")),
        ("ā" * 70, (1, "UCS-2")),
        ("ā" * 71, (2, "UCS-2")),
    ],
)
def test_sms_segments_follow_gsm_and_ucs2_limits(text, expected):
    assert sms_segments(text) == expected


@given(st.text(max_size=600))
def test_more_text_never_needs_fewer_segments(text):
    segments, _ = sms_segments(text)
    longer, _ = sms_segments(text + "x")
    assert longer >= segments >= (1 if text else 0)
