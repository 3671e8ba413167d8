"""The intake's settings and forms file: parsing, errors that name the entry, hidden API keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import worker.intake
from worker.config import ConfigError
from worker.intake import IntakeSettings, load_forms


def test_settings_come_from_leadsync_variables_and_hide_the_keys(tmp_path: Path) -> None:
    forms = tmp_path / "forms.json"
    forms.write_text(json.dumps({"forms": {"demo": {"fields": {"fn": "FirstName"}}}}))
    settings = IntakeSettings.from_env(
        {
            "LEADSYNC_API_KEYS": " k1 , k2,, ",
            "LEADSYNC_FORMS": str(forms),
            "LEADSYNC_FORM_RATE_LIMIT": "3/10",
            "LEADSYNC_INTAKE_MAX_BODY": "1000",
            "LEADSYNC_FORM_DEDUPE_WINDOW": "5",
        }
    )
    assert [key.reveal() for key in settings.api_keys] == ["k1", "k2"]
    assert "k1" not in repr(settings)
    assert settings.forms["demo"].fields == {"fn": "FirstName"}
    assert (settings.form_rate_limit.calls, settings.form_rate_limit.window_s) == (3, 10)
    assert settings.max_body_bytes == 1000
    assert settings.form_dedupe_window_s == 5


def test_defaults_need_no_variables() -> None:
    settings = IntakeSettings.from_env({})
    assert settings.api_keys == ()
    assert settings.forms == {}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[forms.a]\ncolour = 'red'", "forms.a: unknown setting 'colour'"),
        ("[forms.a]\nfields = { x = 1 }", "forms.a.fields"),
        ("[forms.a]\nallowed_origins = 'https://x'", "forms.a.allowed_origins"),
        ("[forms.a]\nhoneypot = 3", "forms.a.honeypot"),
        ("[other]\n", "top-level 'forms' table"),
        ("not toml [", "cannot read"),
    ],
)
def test_a_malformed_forms_file_names_the_entry(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "forms.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=named.replace(".", r"\.").replace("[", r"\[")):
        load_forms(path)


def test_bad_numbers_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="LEADSYNC_FORM_MAX_BODY"):
        IntakeSettings.from_env({"LEADSYNC_FORM_MAX_BODY": "-1"})
    with pytest.raises(ConfigError, match="LEADSYNC_FORM_RATE_LIMIT"):
        IntakeSettings.from_env({"LEADSYNC_FORM_RATE_LIMIT": "lots"})


def test_the_public_surface_is_sorted_and_importable() -> None:
    assert worker.intake.__all__ == sorted(worker.intake.__all__)
    for name in worker.intake.__all__:
        assert getattr(worker.intake, name)
