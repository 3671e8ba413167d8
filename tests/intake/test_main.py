"""`leadsync intake` as a process: it serves on the given port and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def test_main_serves_the_intake_on_the_given_port(redis_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"REDIS_URL": redis_url, "LEADSYNC_API_KEYS": "process-key"}
    code = f"import sys; from worker.intake import main; sys.exit(main(['--port', '{port}']))"
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert response.json() == {"status": "ready"}
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit by SIGTERM).
    assert process.returncode in {0, -signal.SIGTERM}
    assert b"Traceback" not in output
    assert b"process-key" not in output


def test_a_bad_setting_exits_2_naming_the_variable(redis_url: str) -> None:
    env = os.environ | {"REDIS_URL": redis_url, "LEADSYNC_FORM_RATE_LIMIT": "lots"}
    code = "import sys; from worker.intake import main; sys.exit(main([]))"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)
    assert result.returncode == 2
    assert b"LEADSYNC_FORM_RATE_LIMIT" in result.stderr
