"""The one job model: every rule names its field."""

from __future__ import annotations

import pytest

from worker.jobs import MAX_ATTRIBUTES, InvalidJob, in_workspace, validate_job


def refused(**fields: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidJob) as caught:
        validate_job(fields)
    return caught.value.errors


def test_a_job_with_an_email_and_attributes_is_accepted() -> None:
    job = validate_job(email="ann@example.com", attributes={"FirstName": "Ann"})
    assert job.to_message() == {"email": "ann@example.com", "attributes": {"FirstName": "Ann"}}


def test_values_may_hold_xml_metacharacters_and_any_unicode() -> None:
    value = "<b>Lee & \"Sons\"</b> 'Ltd' — 李 🚀 ]]>"
    job = validate_job(email="a@example.com", attributes={"Company": value})
    assert job.attributes["Company"] == value


def test_at_least_one_lead_key_is_required() -> None:
    [(field, rule)] = refused(marketo_cookie="id:123-ABC-456&token:_mch-x")
    assert field == "lead_id, email or foreign_sys_person_id"
    assert "at least one" in rule


@pytest.mark.parametrize("lead_id", [0, -3, True, 1.5, "12a", 2**31])
def test_lead_id_must_be_a_positive_32_bit_whole_number(lead_id: object) -> None:
    [(field, _)] = refused(lead_id=lead_id)
    assert field == "lead_id"


BAD_EMAILS = ["", "ann", "ann@", "@example.com", "a b@example.com", "ann@example",
              "ann..lee@example.com", "ann@ex ample.com"]  # fmt: skip


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_email_syntax_is_checked(email: str) -> None:
    [(field, _)] = refused(email=email)
    assert field == "email"


def test_foreign_sys_type_is_required_with_foreign_sys_person_id() -> None:
    assert refused(foreign_sys_person_id="003A")[0][0] == "foreign_sys_type"
    assert refused(email="a@example.com", foreign_sys_type="SFDC")[0][0] == "foreign_sys_type"
    [(field, rule)] = refused(foreign_sys_person_id="003A", foreign_sys_type="SAP")
    assert field == "foreign_sys_type"
    assert "CUSTOM, SFDC, NETSUITE" in rule
    assert validate_job(foreign_sys_person_id="003A", foreign_sys_type="SFDC").lead_id is None


def test_attribute_names_must_be_non_empty_and_unique() -> None:
    assert refused(email="a@example.com", attributes={" ": "x"})[0][0] == "attributes"
    [(field, rule)] = refused(email="a@example.com", attributes=[("A", "1"), ("A", "2")])
    assert field == "attributes"
    assert "more than once" in rule


def test_characters_illegal_in_xml_are_refused() -> None:
    [(field, rule)] = refused(email="a@example.com", attributes={"Note": "bell\x07"})
    assert field == "attributes"
    assert "U+0007" in rule
    assert refused(email="a@example.com", workspace="w\x00")[0][0] == "workspace"


def test_attribute_values_must_be_strings() -> None:
    assert refused(email="a@example.com", attributes={"Age": 5})[0][0] == "attributes.Age"


def test_size_limits() -> None:
    many = {f"Field{i}": "x" for i in range(MAX_ATTRIBUTES + 1)}
    assert "at most" in refused(email="a@example.com", attributes=many)[0][1]
    assert refused(email="a@example.com", attributes={"A": "x" * 40_000})[0][0] == "attributes"
    assert refused(email="a@example.com", marketo_cookie="c" * 300)[0][0] == "marketo_cookie"


def test_unknown_fields_are_refused() -> None:
    [(field, rule)] = refused(email="a@example.com", emial="typo@example.com")
    assert (field, rule) == ("emial", "is not a known field")


def test_the_message_names_every_field_and_rule() -> None:
    with pytest.raises(InvalidJob) as caught:
        validate_job(email="nope", lead_id=-1)
    assert str(caught.value).startswith("lead_id: ")
    assert "email: must be an email address" in str(caught.value)


def test_lead_keys_name_every_key_with_the_email_lowercased() -> None:
    job = validate_job(
        lead_id=7, email="Ann@Example.com", foreign_sys_person_id="X1", foreign_sys_type="CUSTOM",
        marketo_cookie="id:1&token:2",
    )  # fmt: skip
    assert job.lead_keys() == {
        "id": "7", "fsp": "CUSTOM:X1", "cookie": "id:1&token:2", "email": "ann@example.com",
    }  # fmt: skip


def test_a_default_workspace_is_checked_like_the_field_and_never_overrides_the_jobs() -> None:
    job = validate_job(email="a@example.com")
    assert in_workspace(job, "Europe") == validate_job(email="a@example.com", workspace="Europe")
    assert in_workspace(job, None) is job
    own = validate_job(email="a@example.com", workspace="Asia")
    assert in_workspace(own, "Europe") is own
    for bad in ("", " ", "x" * 256, "a\x01"):
        with pytest.raises(InvalidJob) as caught:
            in_workspace(job, bad)
        assert caught.value.errors == refused(email="a@example.com", workspace=bad)
