"""A newcomer's mistakes against a real chain (issue 10): each is one `error: ...` line on stderr and a non-zero exit,
never a traceback. Run through the real `v2v` command (typer's CliRunner on the root app)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2vchain.cli.errors import EXIT_ERROR
from v2vchain.cli.main import app


class _NotJsonRpc(BaseHTTPRequestHandler):
    """Answers every request with JSON that is no JSON-RPC response (a web app on the port the user typed)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"hello": "world"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def not_json_rpc() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _NotJsonRpc)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def v2v(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def assert_one_line_error(code: int, output: str, *fragments: str) -> None:
    assert code == EXIT_ERROR != 0, output
    assert "Traceback" not in output and "╭" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0], output


KEY_ENV = {"V2V_PRIVATE_KEY": "0x" + "00" * 31 + "01"}


def test_deploy_against_a_server_that_is_not_json_rpc(not_json_rpc: str) -> None:
    assert_one_line_error(*v2v("deploy", "--chain", not_json_rpc, env=KEY_ENV), not_json_rpc, "not a JSON-RPC")


def test_audit_index_against_a_server_that_is_not_json_rpc(not_json_rpc: str, tmp_path: Path) -> None:
    code, output = v2v("audit", "index", "--chain", not_json_rpc, "--db", str(tmp_path / "audit.db"))
    assert_one_line_error(code, output, not_json_rpc, "not a JSON-RPC response")


def test_reconcile_of_the_empty_index_a_failed_index_left_is_refused(not_json_rpc: str, tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    v2v("audit", "index", "--chain", not_json_rpc, "--db", str(db))
    assert db.exists()  # the failed run left an empty index behind
    code, output = v2v("audit", "reconcile", "--db", str(db))
    assert_one_line_error(code, output, "is empty", "v2v audit index")
    assert "0 violation" not in output


def test_deploy_with_a_token_that_is_not_an_address() -> None:
    assert_one_line_error(*v2v("deploy", "--token", "0x1234"), "--token '0x1234' is not a 0x address")


def test_issuer_revoke_of_a_vehicle_that_is_not_an_address(tmp_path: Path) -> None:
    keystore = tmp_path / "issuer.json"
    keystore.write_text("{}")  # never read: the address is checked before any key is unlocked
    code, output = v2v("issuer", "revoke", "--keystore", str(keystore), "--chain", "embedded", "--vehicle", "bob")
    assert_one_line_error(code, output, "--vehicle 'bob' is not a 0x address")


def test_audit_report_into_an_existing_file(tmp_path: Path) -> None:
    existing = tmp_path / "report.html"
    existing.write_text("mine")
    code, output = v2v("audit", "report", "--out", str(existing), "--db", str(tmp_path / "audit.db"))
    assert_one_line_error(code, output, str(existing), "existing file")
    assert existing.read_text() == "mine"


def test_an_os_error_anywhere_is_one_line_too(tmp_path: Path) -> None:
    """The handler's fallback for what no command checks itself: a keystore path under a regular file."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, output = v2v("issuer", "init", "--keystore", str(blocker / "issuer.json"), env={"V2V_ISSUER_PASSWORD": "pw"})
    assert_one_line_error(code, output, str(blocker))
