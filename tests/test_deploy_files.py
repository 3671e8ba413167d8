"""The Procfile and docker-compose.yml name real leadsync commands."""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO


def procfile_commands() -> list[list[str]]:
    lines = (REPO / "Procfile").read_text().splitlines()
    return [shlex.split(line.partition(":")[2]) for line in lines if line.strip()]


def compose_commands() -> list[list[str]]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return [service["command"] for service in compose["services"].values() if "command" in service]


def test_compose_runs_redis_with_an_append_only_file_and_a_healthcheck() -> None:
    redis_service = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["redis"]
    assert "--appendonly" in redis_service["command"]
    assert "healthcheck" in redis_service


def test_the_compose_file_runs_flower_and_exposes_worker_metrics() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert "flower" in services["flower"]["command"]
    assert "--metrics-port" in services["worker"]["command"]
    assert any(line.startswith("flower:") for line in (REPO / "Procfile").read_text().splitlines())


@pytest.mark.parametrize("command", procfile_commands() + compose_commands(), ids=" ".join)
def test_each_leadsync_command_exists(command: list[str], redis_url: str) -> None:
    if command[0] == "celery":
        # Flower: the whole command line, with --help, so its options are parsed too.
        if importlib.util.find_spec("flower") is None:
            pytest.skip("flower is optional: pip install 'leadsync[flower]'")
        argv = [sys.executable, "-m", "celery", *command[1:], "--help"]
    elif command[0] == "leadsync":
        argv = [sys.executable, "-m", "worker", command[1], "--help"]
    else:
        pytest.skip(f"{command[0]} comes from its container image")
    env = dict(os.environ, REDIS_URL=redis_url, MARKETO_SOAP_ENDPOINT="http://127.0.0.1:9/soap",
               MARKETO_USER_ID="u", MARKETO_ENCRYPTION_KEY="k")  # fmt: skip
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()
