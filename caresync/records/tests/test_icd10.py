"""ICD-10 codes: loaded from the maintained package, searchable by code prefix and words."""

import pytest

from caresync.records.icd10 import code_prefix
from caresync.records.models import IcdCode

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "prefix"),
    [("e119", "E11.9"), ("E11", "E11"), ("j45.", "J45"), (" i 10 ", "I10"), ("E1", "E1")],
)
def test_typed_codes_become_prefixes(typed, prefix):
    assert code_prefix(typed) == prefix


@pytest.mark.parametrize("words", ["asthma", "type 2 diabetes", "E11 diabetes", "11"])
def test_words_are_not_code_prefixes(words):
    assert code_prefix(words) is None


def test_the_who_code_list_is_loaded_with_chapters_and_blocks():
    assert IcdCode.objects.count() > 12000
    code = IcdCode.objects.get(code="E11.9")
    assert code.title == "Type 2 diabetes mellitus without complications"
    assert (code.chapter, code.block, code.is_leaf) == ("IV", "E10-E14", True)


def test_search_by_code_prefix_and_by_words(api_as, tenant_a):
    client = api_as(tenant_a.doctor)
    by_code = client.get("/api/v1/icd10/?q=e119").json()["results"]
    assert [row["code"] for row in by_code] == ["E11.9"]
    by_words = client.get("/api/v1/icd10/?q=type 2 diabetes without").json()["results"]
    assert "E11.9" in [row["code"] for row in by_words]
    assert all("diabetes" in row["title"].lower() for row in by_words)
    assert client.get("/api/v1/icd10/?q=").json()["results"] == []
    assert len(client.get("/api/v1/icd10/?q=a").json()["results"]) <= 20


def test_patients_do_not_use_the_code_search(api_as, tenant_a):
    assert api_as(tenant_a.patient).get("/api/v1/icd10/?q=asthma").status_code == 403
