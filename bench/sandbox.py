"""Sandbox throughput: syncLead calls/s beside a trivial endpoint on the same server, same run.

Run: `python bench/sandbox.py [--seconds S] [--clients N]`. The sandbox runs in its own process
(`python -m worker.sandbox`, limits and latency off); the load comes from another process of
keep-alive HTTP/1.1 clients over loopback. Target: at least 1,000 syncLead calls/s.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from worker.sandbox import DEFAULT_ENCRYPTION_KEY, DEFAULT_USER_ID
from worker.sandbox.auth import signature

TARGET_CALLS_PER_S = 1000.0
SYNC_LEAD = """<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:ns1="http://www.marketo.com/mktows/"><SOAP-ENV:Header><ns1:AuthenticationHeader>\
<mktowsUserId>{user}</mktowsUserId><requestSignature>{signature}</requestSignature>\
<requestTimestamp>{timestamp}</requestTimestamp></ns1:AuthenticationHeader></SOAP-ENV:Header>\
<SOAP-ENV:Body><ns1:paramsSyncLead><leadRecord><Email>{email}</Email><leadAttributeList>\
<attribute><attrName>FirstName</attrName><attrValue>Ann</attrValue></attribute>\
<attribute><attrName>LastName</attrName><attrValue>Lee &amp; Co</attrValue></attribute>\
</leadAttributeList></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>\
</SOAP-ENV:Body></SOAP-ENV:Envelope>"""


def _client(endpoint: str, kind: str, seconds: float, tag: str, counts: list[int]) -> None:
    """One keep-alive connection sending calls back to back for `seconds`."""
    url = urlsplit(endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    timestamp = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    sig = signature(DEFAULT_ENCRYPTION_KEY, timestamp, DEFAULT_USER_ID)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "syncLead"}
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        if kind == "ping":
            connection.request("GET", "/_sandbox/ping")
        else:
            body = SYNC_LEAD.format(
                user=DEFAULT_USER_ID, signature=sig, timestamp=timestamp, email=f"{tag}{done}@b.ex"
            )
            connection.request("POST", url.path, body.encode(), headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{kind}: HTTP {response.status}")
        done += 1
    connection.close()
    counts.append(done)


def _load(
    endpoint: str, kind: str, seconds: float, clients: int, queue: multiprocessing.Queue
) -> None:
    """The load-generator process: `clients` threads, each with its own connection."""
    counts: list[int] = []
    threads = [
        threading.Thread(target=_client, args=(endpoint, kind, seconds, f"c{i}-", counts))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(sum(counts))


def measure(endpoint: str, kind: str, seconds: float, clients: int) -> float:
    """Requests per second of `kind` ("ping" or "syncLead") from a separate process."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_load, args=(endpoint, kind, seconds, clients, queue))
    started = time.monotonic()
    process.start()
    total = queue.get(timeout=seconds + 30)
    process.join(timeout=10)
    return total / (time.monotonic() - started)


def main() -> int:
    """Start the sandbox, measure both endpoints, print the figures; exit 1 below the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    command = [sys.executable, "-m", "worker.sandbox", "--port", "0", "--rate-limit", "off"]
    command += ["--max-concurrency", "off", "--daily-quota", "off"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        endpoint = ""
        while not endpoint:
            line = server.stdout.readline() if server.stdout else ""
            if not line:
                raise RuntimeError("the sandbox exited before printing its endpoint")
            if "MARKETO_SOAP_ENDPOINT=" in line:
                endpoint = line.strip().partition("=")[2]
        base = endpoint.rsplit("/soap/", 1)[0]
        measure(base, "ping", 0.5, args.clients)  # warm-up
        ping = measure(base, "ping", args.seconds, args.clients)
        sync = measure(endpoint, "syncLead", args.seconds, args.clients)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"trivial GET /_sandbox/ping : {ping:8.0f} req/s")
    print(f"syncLead (SOAP, new leads)  : {sync:8.0f} calls/s  ({sync / ping:.2f} of trivial)")
    verdict = "ok" if sync >= TARGET_CALLS_PER_S else "BELOW TARGET"
    print(f"target >= {TARGET_CALLS_PER_S:.0f} syncLead calls/s: {verdict}")
    return 0 if sync >= TARGET_CALLS_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
