"""python -m ftbench.sticky: one comment per key, found by its marker and edited in place, on a
fake GitHub / GitLab REST API served on 127.0.0.1; polite skips."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ftbench import sticky


class FakeApi:
    """Comments kept in memory; every request recorded (method, path, headers)."""

    def __init__(self) -> None:
        self.comments: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.refuse = 0
        self.page_size = 2


@pytest.fixture
def api() -> Iterator[tuple[FakeApi, str]]:
    state = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, code: int, value: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(value).encode()
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            state.requests.append(
                (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            )
            if state.refuse:
                self._send(state.refuse, {"message": "Resource not accessible by integration"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body: dict[str, Any] = json.loads(self.rfile.read(length)) if length else {}
            path, _, query = self.path.partition("?")
            if self.command == "GET":
                page = int(dict(p.split("=") for p in query.split("&")).get("page", "1"))
                size = state.page_size
                chunk = state.comments[(page - 1) * size : page * size]
                more = len(state.comments) > page * size
                base = f"http://{self.headers['Host']}{path}?per_page={size}"
                link = {"Link": f'<{base}&page={page + 1}>; rel="next"'} if more else {}
                self._send(200, chunk, link)
            elif self.command == "POST":
                made = {"id": 100 + len(state.comments), "body": body["body"]}
                state.comments.append(made)
                self._send(201, made)
            else:  # PATCH (GitHub) or PUT (GitLab) .../ID
                wanted = int(path.rsplit("/", 1)[1])
                for comment in state.comments:
                    if comment["id"] == wanted:
                        comment["body"] = body["body"]
                self._send(200, {"id": wanted})

        do_GET = do_POST = do_PATCH = do_PUT = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _github_env(tmp_path: Path, url: str, head: str = "o/r") -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": 5,
                    "head": {"repo": {"full_name": head}},
                    "base": {"repo": {"full_name": "o/r"}},
                }
            }
        )
    )
    return {
        "GITHUB_TOKEN": "ghs_secret_value",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_API_URL": url,
    }


def test_github_posts_once_then_updates_the_same_comment(
    api: tuple[FakeApi, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = api
    # other people's comments, over two pages, come first
    state.comments += [{"id": i, "body": f"review {i}"} for i in range(1, 4)]
    body = tmp_path / "bench_proof.md"
    env = _github_env(tmp_path, url)
    for text in ("## first run", "## second run", "## third run"):
        body.write_text(text)
        assert sticky.main(["github", "--body", str(body)], env) == 0
    ours = [c for c in state.comments if "ftbench-report:default" in c["body"]]
    assert len(ours) == 1 and ours[0]["body"].endswith("## third run")
    assert [m for m, _, _ in state.requests].count("POST") == 1
    assert [m for m, _, _ in state.requests].count("PATCH") == 2
    assert all(h.get("authorization") == "Bearer ghs_secret_value" for _, _, h in state.requests)
    out = capsys.readouterr().out
    assert "posted comment" in out and "updated comment" in out
    assert "ghs_secret_value" not in out
    # another key is another comment
    assert sticky.main(["github", "--body", str(body), "--key", "pro"], env) == 0
    assert len([c for c in state.comments if "ftbench-report:" in c["body"]]) == 2


def test_github_skips_politely(
    api: tuple[FakeApi, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = api
    body = tmp_path / "b.md"
    body.write_text("x")
    fork = _github_env(tmp_path, url, head="someone/r")
    assert sticky.main(["github", "--body", str(body)], fork) == 0
    assert "fork someone/r" in capsys.readouterr().out
    no_token = {**_github_env(tmp_path, url), "GITHUB_TOKEN": ""}
    assert sticky.main(["github", "--body", str(body)], no_token) == 0
    assert "no GITHUB_TOKEN" in capsys.readouterr().out
    state.refuse = 403
    assert sticky.main(["github", "--body", str(body)], _github_env(tmp_path, url)) == 0
    assert "pull-requests: write" in capsys.readouterr().out
    assert state.comments == []
    missing = tmp_path / "missing.md"  # ftbench exited before writing: no ENOENT crash
    assert sticky.main(["github", "--body", str(missing)], _github_env(tmp_path, url)) == 0
    assert "cannot read" in capsys.readouterr().out


def test_github_unreachable_api_is_a_skip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "b.md"
    body.write_text("x")
    env = _github_env(tmp_path, "http://127.0.0.1:9")  # discard port: refused
    assert sticky.main(["github", "--body", str(body)], env) == 0
    assert "not reachable" in capsys.readouterr().out


def test_gitlab_note_is_sticky(api: tuple[FakeApi, str], tmp_path: Path) -> None:
    state, url = api
    body = tmp_path / "b.md"
    env = {
        "FTBENCH_GITLAB_TOKEN": "glpat-secret",
        "CI_MERGE_REQUEST_IID": "9",
        "CI_API_V4_URL": url + "/api/v4",
        "CI_PROJECT_ID": "42",
    }
    for text in ("one", "two"):
        body.write_text(text)
        assert sticky.main(["gitlab", "--body", str(body)], env) == 0
    assert len(state.comments) == 1 and state.comments[0]["body"].endswith("two")
    assert {p.split("?")[0] for _, p, _ in state.requests} >= {
        "/api/v4/projects/42/merge_requests/9/notes"
    }
    assert all(h.get("private-token") == "glpat-secret" for _, _, h in state.requests)
    assert sticky.main(["gitlab", "--body", str(body)], {**env, "CI_MERGE_REQUEST_IID": ""}) == 0
    assert len(state.requests) == 4  # GET+POST, GET+PUT, nothing outside a merge request
