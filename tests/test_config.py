"""Settings from the environment and `.env`, with errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.config import ConfigError, RateLimit, Secret, Settings


def test_defaults_match_the_product_contract() -> None:
    settings = Settings.from_env({}, env_file=None)
    assert settings.rate_limit == RateLimit(100, 20.0)
    assert settings.max_concurrency == 10
    assert settings.read_timeout_s == 90.0
    assert settings.result_ttl_s == 7 * 24 * 3600
    assert settings.redis_url is None


def test_the_visibility_timeout_outlasts_one_attempt() -> None:
    settings = Settings.from_env({"MARKETO_TIMEOUT": "300"}, env_file=None)
    assert settings.visibility_timeout_s > settings.read_timeout_s + settings.connect_timeout_s


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MARKETO_USER_ID=from-file\nMARKETO_WORKSPACE=Europe\n")
    settings = Settings.from_env({"MARKETO_USER_ID": "from-env"}, env_file=env_file)
    assert settings.user_id == "from-env"
    assert settings.workspace == "Europe"


@pytest.mark.parametrize(
    ("name", "value"),
    [("MARKETO_RATE_LIMIT", "100"), ("MARKETO_RATE_LIMIT", "0/20"),
     ("MARKETO_MAX_CONCURRENCY", "ten"), ("MARKETO_TIMEOUT", "-1"), ("LEADSYNC_LOG_PII", "maybe")],
)  # fmt: skip
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value}, env_file=None)


def test_the_encryption_key_never_shows_in_repr_or_str() -> None:
    settings = Settings.from_env({"MARKETO_ENCRYPTION_KEY": "k3y-value"}, env_file=None)
    assert "k3y-value" not in repr(settings)
    assert "k3y-value" not in str(settings.encryption_key)
    assert settings.encryption_key.reveal() == "k3y-value"
    assert Secret("a") == Secret("a")
