"""The command line and the public surface: flags, printed credentials, clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

import worker.sandbox
from worker.sandbox import DEFAULT_ENCRYPTION_KEY, DEFAULT_USER_ID
from worker.sandbox.cli import config_from_args

from .soapkit import Reply, envelope, record, sync_lead_body


def test_the_exports_are_sorted_and_complete() -> None:
    assert worker.sandbox.__all__ == sorted(worker.sandbox.__all__)
    assert set(worker.sandbox.__all__) >= {
        "DEFAULT_ENCRYPTION_KEY",
        "DEFAULT_USER_ID",
        "SandboxConfig",
        "build_app",
        "main",
        "start_in_thread",
    }


def test_flags_build_the_config_and_off_switches_limits_off() -> None:
    config = config_from_args(
        ["--port", "0", "--rate-limit", "off", "--max-concurrency", "off", "--daily-quota", "off",
         "--latency-ms", "5", "--jitter-ms", "2", "--fault-rate", "0.1",
         "--fault-kinds", "503,reset", "--timestamp-window", "60", "--no-duplicate-race",
         "--workspace", "Europe=EU,EU2", "--assignment-rule", "Country=France:EU2",
         "--custom-field", "Score__c,Tier__c", "--script-fault", "2:20011:id:1&token:x",
         "--user-id", "u", "--encryption-key", "s3cr3t-k3y"]
    )  # fmt: skip
    assert (config.rate_limit, config.max_concurrency, config.daily_quota) == (None, None, None)
    assert (config.latency_ms, config.jitter_ms, config.fault_rate) == (5, 2, 0.1)
    assert config.fault_kinds == ("503", "reset")
    assert (config.timestamp_window_s, config.duplicate_race) == (60, False)
    assert config.workspaces is not None and config.workspaces[0].partitions == ("EU", "EU2")
    assert config.assignment_rules[0].partition == "EU2"
    assert config.custom_fields == {"Score__c", "Tier__c"}
    assert config.scripted_faults[0].key == "id:1&token:x"
    assert (config.user_id, config.encryption_key) == ("u", "s3cr3t-k3y")
    assert "s3cr3t-k3y" not in repr(config)


@pytest.mark.parametrize(
    "argv", [["--rate-limit", "fast"], ["--fault-rate", "2"], ["--fault-kinds", "teapot"]]
)
def test_bad_flags_exit_2_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        config_from_args(argv)
    assert exited.value.code == 2
    assert "error" in capsys.readouterr().err


def test_python_m_worker_sandbox_prints_credentials_serves_and_stops_on_sigterm() -> None:
    command = [
        sys.executable,
        "-m",
        "worker.sandbox",
        "--port",
        "0",
        "--script-fault",
        "1:20011:cli@x.com",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline() for _ in range(4)]
        endpoint = printed[1].strip().removeprefix("MARKETO_SOAP_ENDPOINT=")
        assert endpoint.startswith("http://127.0.0.1:") and endpoint.endswith("/soap/mktows/2_3")
        assert printed[2].strip() == f"MARKETO_USER_ID={DEFAULT_USER_ID}"
        assert printed[3].strip() == f"MARKETO_ENCRYPTION_KEY={DEFAULT_ENCRYPTION_KEY}"
        body = envelope(sync_lead_body(record("cli@x.com"))).encode()
        codes = [Reply(httpx.post(endpoint, content=body, timeout=5)).fault_code for _ in range(2)]
        assert codes == [20011, None]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
