"""python -m ftbench.sticky: one comment per key, found by its marker in the poster's own
comments and edited in place, on a fake GitHub / GitLab REST API served on 127.0.0.1; a
stranger's comment holding the marker is never edited; polite skips."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import hostile
from ftbench import sticky
from ftbench.report.markdown import render

#: who a token is, as the fake API sees it: (GET /user answer or None when refused, author)
TOKENS: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {
    # GitHub's default GITHUB_TOKEN: an installation token, GET /user is refused (403)
    "ghs_secret_value": (None, {"login": "github-actions[bot]", "id": 41898282}),
    # a GitHub App's installation token
    "ghs_app_token": (None, {"login": "bench-app[bot]", "id": 777}),
    # a personal access token
    "ghp_personal": ({"login": "Release-Bot", "id": 31}, {"login": "Release-Bot", "id": 31}),
    # GitLab: a project access token (a bot user) and one that may not read /user
    "glpat-secret": (
        {"id": 42, "username": "project_42_bot"},
        {"id": 42, "username": "project_42_bot"},
    ),
    "glpat-no-user": (None, {"id": 43, "username": "project_43_bot"}),
}


class FakeApi:
    """Comments kept in memory; every request recorded (method, path, headers)."""

    def __init__(self) -> None:
        self.comments: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.refuse = 0
        self.page_size = 2

    def edits(self) -> list[int]:
        """The ids of the comments PATCHed or PUT."""
        return [
            int(p.split("?")[0].rsplit("/", 1)[1])
            for m, p, _ in self.requests
            if m in ("PATCH", "PUT")
        ]


def _token(headers: dict[str, str]) -> str:
    return headers.get("private-token") or headers.get("authorization", "").removeprefix("Bearer ")


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
            me, author = TOKENS[_token({k.lower(): v for k, v in self.headers.items()})]
            if path.endswith("/user"):
                if me is None:
                    self._send(403, {"message": "Resource not accessible by integration"})
                else:
                    self._send(200, me)
            elif self.command == "GET":
                page = int(dict(p.split("=") for p in query.split("&")).get("page", "1"))
                size = state.page_size
                chunk = state.comments[(page - 1) * size : page * size]
                more = len(state.comments) > page * size
                base = f"http://{self.headers['Host']}{path}?per_page={size}"
                link = {"Link": f'<{base}&page={page + 1}>; rel="next"'} if more else {}
                self._send(200, chunk, link)
            elif self.command == "POST":
                field = "author" if "/api/v4/" in path else "user"
                made = {"id": 100 + len(state.comments), "body": body["body"], field: author}
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


STRANGER = {"login": "mallory", "id": 666}


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
    state.comments += [{"id": i, "body": f"review {i}", "user": STRANGER} for i in range(1, 4)]
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


def _gitlab_env(url: str, token: str = "glpat-secret") -> dict[str, str]:
    return {
        "FTBENCH_GITLAB_TOKEN": token,
        "CI_MERGE_REQUEST_IID": "9",
        "CI_API_V4_URL": url + "/api/v4",
        "CI_PROJECT_ID": "42",
    }


def test_gitlab_note_is_sticky(api: tuple[FakeApi, str], tmp_path: Path) -> None:
    state, url = api
    body = tmp_path / "b.md"
    env = _gitlab_env(url)
    for text in ("one", "two"):
        body.write_text(text)
        assert sticky.main(["gitlab", "--body", str(body)], env) == 0
    assert len(state.comments) == 1 and state.comments[0]["body"].endswith("two")
    assert {p.split("?")[0] for _, p, _ in state.requests} >= {
        "/api/v4/projects/42/merge_requests/9/notes"
    }
    assert all(h.get("private-token") == "glpat-secret" for _, _, h in state.requests)
    assert sticky.main(["gitlab", "--body", str(body)], {**env, "CI_MERGE_REQUEST_IID": ""}) == 0
    # GET /user, GET notes, POST; GET /user, GET notes, PUT; nothing outside a merge request
    assert [m for m, _, _ in state.requests] == ["GET", "GET", "POST", "GET", "GET", "PUT"]


def _hijack_attempt(author_field: str, author: dict[str, Any], marker: str) -> list[dict[str, Any]]:
    """A stranger's comment holding the marker listed first, then the poster's own."""
    return [
        {"id": 1, "body": f"{marker}\nI wrote this", author_field: STRANGER},
        {"id": 2, "body": "lgtm", author_field: STRANGER},
        {"id": 3, "body": f"{marker}\nold report", author_field: author},
    ]


@pytest.mark.parametrize(
    ("token", "extra", "author"),
    [
        ("ghs_secret_value", {}, "github-actions[bot]"),  # the default GITHUB_TOKEN
        ("ghp_personal", {}, "Release-Bot"),  # a personal token: GET /user says who
        ("ghs_app_token", {"FTBENCH_COMMENT_AUTHOR": "bench-app[bot]"}, "bench-app[bot]"),
    ],
)
def test_github_edits_only_its_own_comment(
    api: tuple[FakeApi, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    token: str,
    extra: dict[str, str],
    author: str,
) -> None:
    state, url = api
    marker = "<!-- ftbench-report:default -->"
    own = TOKENS[token][1]
    state.comments += _hijack_attempt("user", own, marker)
    body = tmp_path / "b.md"
    body.write_text("## new report")
    env = {**_github_env(tmp_path, url), "GITHUB_TOKEN": token, **extra}
    assert sticky.main(["github", "--body", str(body)], env) == 0
    assert state.edits() == [3], capsys.readouterr().out
    assert state.comments[0]["body"] == f"{marker}\nI wrote this"  # the stranger's: untouched
    assert state.comments[2]["body"] == f"{marker}\n## new report"
    assert f"updated comment 3 of {author}" in capsys.readouterr().out
    assert not [m for m, _, _ in state.requests if m == "POST"]


def test_github_without_an_own_comment_posts_a_new_one(
    api: tuple[FakeApi, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = api
    marker = "<!-- ftbench-report:default -->"
    state.comments += _hijack_attempt("user", STRANGER, marker)
    # the bot's own comment of another key, and one where the marker is not at the start
    bot = TOKENS["ghs_secret_value"][1]
    state.comments += [
        {"id": 4, "body": "<!-- ftbench-report:pro -->\nx", "user": bot},
        {"id": 5, "body": f"quoting: {marker}", "user": bot},
    ]
    body = tmp_path / "b.md"
    body.write_text("## report")
    env = _github_env(tmp_path, url)
    assert sticky.main(["github", "--body", str(body)], env) == 0
    assert state.edits() == []
    assert [c["body"] for c in state.comments[:5]] == [
        f"{marker}\nI wrote this",
        "lgtm",
        f"{marker}\nold report",
        "<!-- ftbench-report:pro -->\nx",
        f"quoting: {marker}",
    ]
    made = state.comments[-1]
    assert made["body"] == f"{marker}\n## report" and made["user"] == bot
    assert "posted comment" in capsys.readouterr().out
    # the next run finds the bot's new comment, not the stranger's
    body.write_text("## again")
    assert sticky.main(["github", "--body", str(body)], env) == 0
    assert state.edits() == [made["id"]] and state.comments[0]["body"].endswith("I wrote this")


def test_github_app_token_without_its_login_says_which_to_set(
    api: tuple[FakeApi, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = api
    body = tmp_path / "b.md"
    body.write_text("x")
    env = {**_github_env(tmp_path, url), "GITHUB_TOKEN": "ghs_app_token"}
    for _ in range(2):  # each run posts: it cannot know the App's comments are its own
        assert sticky.main(["github", "--body", str(body)], env) == 0
    out = capsys.readouterr().out
    assert out.count("posted as bench-app[bot], not github-actions[bot]") == 2
    assert "FTBENCH_COMMENT_AUTHOR=bench-app[bot]" in out
    assert len(state.comments) == 2 and state.edits() == []


def test_a_key_cannot_close_the_marker(api: tuple[FakeApi, str], tmp_path: Path) -> None:
    state, url = api
    body = tmp_path / "b.md"
    body.write_text("x")
    key = "k -->\n<img src=x onerror=alert(1)>"
    assert (
        sticky.main(["github", "--body", str(body), "--key", key], _github_env(tmp_path, url)) == 0
    )
    first = state.comments[0]["body"].split("\n", 1)[0]
    assert first == "<!-- ftbench-report:k --___img src=x onerror=alert_1__ -->"


@pytest.mark.parametrize(
    ("token", "extra", "own"),
    [
        ("glpat-secret", {}, TOKENS["glpat-secret"][1]),  # GET /user gives the id
        # the token may not read /user: the username named in FTBENCH_COMMENT_AUTHOR
        ("glpat-no-user", {"FTBENCH_COMMENT_AUTHOR": "project_43_bot"}, TOKENS["glpat-no-user"][1]),
    ],
)
def test_gitlab_edits_only_its_own_note(
    api: tuple[FakeApi, str],
    tmp_path: Path,
    token: str,
    extra: dict[str, str],
    own: dict[str, Any],
) -> None:
    state, url = api
    marker = "<!-- ftbench-report:default -->"
    state.comments += _hijack_attempt("author", own, marker)
    # a stranger named like the bot but with another id, and a system note
    state.comments.insert(0, {"id": 9, "body": marker, "author": {**STRANGER, "username": "x"}})
    state.comments.insert(0, {"id": 8, "body": marker, "author": own, "system": True})
    body = tmp_path / "b.md"
    body.write_text("new")
    assert sticky.main(["gitlab", "--body", str(body)], {**_gitlab_env(url, token), **extra}) == 0
    assert state.edits() == [3]
    assert [c["body"] for c in state.comments if c["id"] != 3] == [
        marker,
        marker,
        f"{marker}\nI wrote this",
        "lgtm",
    ]


def test_gitlab_without_the_token_user_never_edits(
    api: tuple[FakeApi, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = api
    marker = "<!-- ftbench-report:default -->"
    state.comments += _hijack_attempt("author", TOKENS["glpat-no-user"][1], marker)
    body = tmp_path / "b.md"
    body.write_text("new")
    assert sticky.main(["gitlab", "--body", str(body)], _gitlab_env(url, "glpat-no-user")) == 0
    assert state.edits() == [] and len(state.comments) == 4
    assert "FTBENCH_COMMENT_AUTHOR is not set" in capsys.readouterr().out


def test_the_comment_of_hostile_names_keeps_its_structure(
    api: tuple[FakeApi, str], tmp_path: Path
) -> None:
    """The sticky comment is the escaped Markdown, posted as is behind the marker: the
    elements of the benign comment, no mention."""
    state, url = api
    body = tmp_path / "bench_proof.md"
    benign = render(hostile.report("ab", hostile.BENIGN))
    body.write_text(render(hostile.report("ab", hostile.HOSTILE)))
    assert sticky.main(["github", "--body", str(body)], _github_env(tmp_path, url)) == 0
    posted = state.comments[0]["body"]
    assert posted == f"<!-- ftbench-report:default -->\n{body.read_text()}"
    rendered = hostile.github_html(posted)
    assert hostile.tags(rendered) == ["!--", *hostile.tags(hostile.github_html(benign))]
    assert not hostile.LINKED.search(hostile.text_outside_code(rendered))
