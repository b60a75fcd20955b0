"""Every fault switch does what it says, deterministically, over HTTP and from Python."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from crmhub_dev.sandbox import SandboxServer
from crmhub_dev.sandbox.datagen import generate
from crmhub_dev.sandbox.hubspot import DEFAULT_TOKEN

HUBSPOT_HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
MESSAGE_WINDOW = {"startTime": "2026-09-01T00:00:00Z", "endTime": "2026-09-29T00:00:00Z", "limit": 5}


def _hubspot_page(sandbox: SandboxServer) -> requests.Response:
    return requests.get(f"{sandbox.hubspot_url}/crm/v3/objects/contacts", headers=HUBSPOT_HEADERS)


def test_rate_limit_fault_answers_the_next_n_requests_with_429(sandbox: SandboxServer, hootsuite_headers: dict) -> None:
    sandbox.set_faults("hubspot", rate_limit=2)
    assert [_hubspot_page(sandbox).status_code for _ in range(3)] == [429, 429, 200]
    sandbox.set_faults("hootsuite", rate_limit=1)
    limited = requests.get(f"{sandbox.hootsuite_url}/v1/socialProfiles", headers=hootsuite_headers)
    assert limited.status_code == 429 and limited.json()["errors"][0]["code"] == 1003
    assert "Retry-After" not in limited.headers
    assert requests.get(f"{sandbox.hootsuite_url}/v1/socialProfiles", headers=hootsuite_headers).status_code == 200


def test_malformed_page_fault_truncates_the_nth_page_once(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.hubspot_url}/_sandbox/faults", json={"malformed_page": 2})
    assert response.status_code == 200
    first, second, third = (_hubspot_page(sandbox) for _ in range(3))
    first.json()
    assert second.status_code == 200 and second.headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(second.text)
    assert third.json()["results"]


def test_page_fault_repeat_keeps_the_nth_page_broken_for_k_requests(sandbox: SandboxServer) -> None:
    sandbox.set_faults("hubspot", html_error_page=2, page_fault_repeat=3)
    kinds = [_hubspot_page(sandbox).headers["content-type"].split(";")[0] for _ in range(5)]
    assert kinds == ["application/json", "text/html", "text/html", "text/html", "application/json"]


def test_html_error_page_fault_returns_html_with_status_200(sandbox: SandboxServer, hootsuite_headers: dict) -> None:
    sandbox.set_faults("hootsuite", html_error_page=1)
    response = requests.get(f"{sandbox.hootsuite_url}/v1/messages", headers=hootsuite_headers, params=MESSAGE_WINDOW)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.text.lstrip().startswith("<!DOCTYPE html>")


def test_server_error_page_fault_fails_page_n_mid_pagination(sandbox: SandboxServer) -> None:
    sandbox.set_faults("hubspot", server_error_page=2)
    first = _hubspot_page(sandbox)
    after = first.json()["paging"]["next"]["after"]
    second = requests.get(f"{sandbox.hubspot_url}/crm/v3/objects/contacts", headers=HUBSPOT_HEADERS,
                          params={"after": after})  # fmt: skip
    assert second.status_code == 502
    retry = requests.get(f"{sandbox.hubspot_url}/crm/v3/objects/contacts", headers=HUBSPOT_HEADERS,
                         params={"after": after})  # fmt: skip
    assert retry.status_code == 200 and retry.json()["results"][0]["id"] == after


def test_slow_ms_fault_delays_responses_and_delete_clears_it(sandbox: SandboxServer) -> None:
    requests.post(f"{sandbox.hubspot_url}/_sandbox/faults", json={"slow_ms": 300})
    started = time.monotonic()
    _hubspot_page(sandbox)
    assert time.monotonic() - started >= 0.3
    cleared = requests.delete(f"{sandbox.hubspot_url}/_sandbox/faults").json()
    assert cleared["faults"] == {}
    started = time.monotonic()
    _hubspot_page(sandbox)
    assert time.monotonic() - started < 0.3


def test_unknown_fault_is_rejected_with_400(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.hubspot_url}/_sandbox/faults", json={"explode": 1})
    assert response.status_code == 400 and "explode" in response.json()["error"]


def test_ground_truth_endpoint_serves_the_generated_truth(sandbox: SandboxServer) -> None:
    for base in (sandbox.hubspot_url, sandbox.hootsuite_url):
        assert requests.get(f"{base}/_sandbox/ground-truth").json() == json.loads(json.dumps(sandbox.ground_truth))


def test_cli_writes_the_ground_truth_of_a_seed(tmp_path: Path) -> None:
    out = tmp_path / "truth.json"
    subprocess.run([sys.executable, "-m", "crmhub_dev.sandbox", "ground-truth", "--seed", "3", "--people", "30",
                    "--out", str(out)], check=True, cwd=Path(__file__).parents[2] / "plugins")  # fmt: skip
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(generate(3, 30).ground_truth))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_serve_answers_until_terminated_and_logs_no_query_strings(tmp_path: Path) -> None:
    hubspot_port, hootsuite_port = _free_port(), _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmhub_dev.sandbox", "serve", "--hubspot-port", str(hubspot_port),
         "--hootsuite-port", str(hootsuite_port), "--people", "20", "--rate-limit", "50/10",
         "--ground-truth", str(tmp_path / "gt.json")],
        cwd=Path(__file__).parents[2] / "plugins", stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"http://127.0.0.1:{hubspot_port}/_sandbox/health", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        page = requests.get(f"http://127.0.0.1:{hubspot_port}/crm/v3/objects/contacts",
                            headers=HUBSPOT_HEADERS, params={"properties": "email"})  # fmt: skip
        assert page.headers["X-HubSpot-RateLimit-Max"] == "50"
        assert (tmp_path / "gt.json").exists()
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "GET /crm/v3/objects/contacts 200" in stderr
    assert "properties" not in stderr and "@" not in stderr
