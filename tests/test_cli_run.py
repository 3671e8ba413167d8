"""`leadsync run` on embedded defaults, driven as the README shows, then stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from worker.embedded import answers_ping, recorded_url

pytestmark = pytest.mark.slow


def clean_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "LEADSYNC_", "REDIS_"))
    }
    env["PYTHONPATH"] = str(REPO)
    return env


def leadsync(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        env=clean_env(), cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_run_then_enqueue_and_status_show_synced_and_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 - closed below
    run = subprocess.Popen(
        [sys.executable, "-m", "worker", "run"],
        env=clean_env(), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in (tmp_path / "run.log").read_bytes():
            assert run.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.1)
        url = recorded_url(tmp_path / ".leadsync")
        assert url is not None

        enqueued = leadsync(
            "enqueue", "--email", "a@example.com", "--attr", "FirstName=Ann", cwd=tmp_path
        )
        assert enqueued.returncode == 0, enqueued.stderr
        job_id = enqueued.stdout.splitlines()[0]
        status: dict[str, object] = {}
        while time.monotonic() < deadline and status.get("state") != "synced":
            status = json.loads(leadsync("status", job_id, "--json", cwd=tmp_path).stdout)
            time.sleep(0.2)
        assert status["state"] == "synced"
        assert isinstance(status["lead_id"], int)
    finally:
        run.send_signal(signal.SIGINT)
        try:
            code = run.wait(timeout=40)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
            log.close()
    assert code in (0, 130)
    assert not answers_ping(url)
    leftovers = subprocess.run(["pgrep", "-s", str(run.pid)], capture_output=True, text=True).stdout
    assert leftovers == ""


def test_the_worker_alone_refuses_to_start_without_an_endpoint_and_names_the_variables(
    tmp_path: Path,
) -> None:
    done = leadsync("worker", cwd=tmp_path)
    assert done.returncode == 2
    for name in ("MARKETO_SOAP_ENDPOINT", "MARKETO_USER_ID", "MARKETO_ENCRYPTION_KEY"):
        assert name in done.stderr
    assert not (tmp_path / ".leadsync").exists()  # refused before starting anything
