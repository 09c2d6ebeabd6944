"""Post or update ONE sticky comment on a GitHub pull request or a GitLab merge request.

``python -m ftbench.sticky github|gitlab --body FILE [--key KEY]``, run by the GitHub Action
(``action.yml``) and the GitLab template (``ci/gitlab/ftbench.gitlab-ci.yml``). The comment is
found again by a hidden marker (``<!-- ftbench-report:KEY -->``) at the start of a comment
*written by the identity that posts*, and edited in place, so a pull request has one benchmark
comment per key however often it is pushed. Standard library only (REST calls with urllib), so
it runs wherever ftbench is installed, act included.

Only its own comments are ever edited: anyone can write the marker into a comment, so a
comment counts only when its author is the poster (a stranger's comment holding the marker is
left alone, and without an own comment a new one is posted). Who posts:

* GitHub: the login ``GET /user`` returns (a personal access token); a GitHub App
  installation token, the default ``GITHUB_TOKEN`` included, cannot read ``/user`` (HTTP
  403): then ``FTBENCH_COMMENT_AUTHOR`` when set (another App's ``NAME[bot]``), else
  ``github-actions[bot]``, who posts with the default token. Logins ending in ``[bot]``
  cannot be registered by people. When the posted comment shows another author, a line
  says which login to set.
* GitLab: the user id ``GET /user`` returns for ``FTBENCH_GITLAB_TOKEN`` (personal, project
  and group access tokens with the ``api`` scope can read it); when it cannot be read, the
  username in ``FTBENCH_COMMENT_AUTHOR``; else no note is edited and a new one is posted. The
  pipeline's user (``GITLAB_USER_LOGIN``) is never taken: on a merge request that may be its
  author.

Commenting never fails the job: without a token, outside a pull/merge request, on a fork's
pull request (read-only token) or when the API refuses, it prints one line saying why and
exits 0. Only a usage error exits 2. The token is sent only to the API URL the CI gives
(``GITHUB_API_URL`` / ``CI_API_V4_URL``) and never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

MARKER = "<!-- ftbench-report:{key} -->"
#: who posts with GitHub's default GITHUB_TOKEN
GITHUB_ACTIONS_BOT = "github-actions[bot]"
#: GitHub and GitLab refuse comments longer than this (GitHub: 65536 characters)
MAX_BODY = 60000
TIMEOUT_S = 20


class Skip(Exception):
    """Not commenting, for a reason the user should read (exit 0)."""


class Refused(Skip):
    """The API answered 401, 403 or 404."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _request(
    method: str, url: str, headers: Mapping[str, str], body: object = None
) -> tuple[Any, Mapping[str, str]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            text = resp.read().decode("utf-8", "replace")
            return (json.loads(text) if text.strip() else None), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403, 404):
            raise Refused(
                f"the API refused {method} (HTTP {exc.code}): the token cannot write comments "
                "here (GitHub: `permissions: pull-requests: write`; GitLab: a token with the "
                "api scope in FTBENCH_GITLAB_TOKEN)",
                exc.code,
            ) from None
        raise Skip(f"the API answered HTTP {exc.code} to {method}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Skip(f"the API is not reachable ({reason})") from None


def _next_link(headers: Mapping[str, str]) -> str | None:
    for part in headers.get("Link", headers.get("link", "")).split(","):
        if 'rel="next"' in part:
            return part.split(";", 1)[0].strip().strip("<>")
    return None


def _find(url: str, headers: Mapping[str, str], marker: str, own: Callable[[Any], bool]) -> Any:
    """The first comment that starts with ``marker`` and is ``own`` among all pages of
    ``url``, or None."""
    next_url: str | None = url
    while next_url:
        page, response_headers = _request("GET", next_url, headers)
        for comment in page or []:
            if not isinstance(comment, dict):
                continue
            if str(comment.get("body") or "").startswith(marker) and own(comment):
                return comment
        next_url = _next_link(response_headers)
    return None


def _marker(key: str) -> str:
    """The hidden marker of ``key``; characters that could end the HTML comment or the line
    (``>``, a new line) become ``_``."""
    return MARKER.format(key=re.sub(r"[^\w.:/@+= -]", "_", key))


def _whoami(api: str, headers: Mapping[str, str]) -> dict[str, Any]:
    """``GET /user``, or ``{}`` when the token may not read it (an installation token)."""
    try:
        me, _ = _request("GET", f"{api}/user", headers)
    except Refused:
        return {}
    return me if isinstance(me, dict) else {}


def _login(comment: Any, field: str) -> str:
    user = comment.get(field) if isinstance(comment, dict) else None
    return str(user.get("login") or user.get("username") or "") if isinstance(user, dict) else ""


def _github_author(api: str, headers: Mapping[str, str], env: Mapping[str, str]) -> str:
    """The login whose comments are ours (see the module)."""
    login = _whoami(api, headers).get("login")
    if login:
        return str(login)
    return env.get("FTBENCH_COMMENT_AUTHOR", "").strip() or GITHUB_ACTIONS_BOT


def github(body: str, key: str, env: Mapping[str, str]) -> str:
    token = env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise Skip("no GITHUB_TOKEN (pass `github-token`; not available under act)")
    event_path = env.get("GITHUB_EVENT_PATH", "")
    try:
        event = json.loads(Path(event_path).read_text()) if event_path else {}
    except (OSError, ValueError):
        event = {}
    pr = event.get("pull_request") or {}
    number = pr.get("number") or event.get("number")
    if not number:
        raise Skip("not a pull request event")
    head = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    base = ((pr.get("base") or {}).get("repo") or {}).get("full_name")
    event_name = env.get("GITHUB_EVENT_NAME", "")
    if head and base and head != base and event_name == "pull_request":
        raise Skip(f"pull request from the fork {head}: its token is read-only")
    repo = env.get("GITHUB_REPOSITORY") or base
    if not repo:
        raise Skip("GITHUB_REPOSITORY is not set")
    api = env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "ftbench-sticky-comment",
    }
    comments = f"{api}/repos/{repo}/issues/{int(number)}/comments"
    marker = _marker(key)
    author = _github_author(api, headers, env)

    def own(comment: Any) -> bool:
        return _login(comment, "user").casefold() == author.casefold()

    found = _find(f"{comments}?per_page=100", headers, marker, own)
    text = _with_marker(body, marker)
    if found is not None:
        comment_id = int(found["id"])
        _request(
            "PATCH", f"{api}/repos/{repo}/issues/comments/{comment_id}", headers, {"body": text}
        )
        return f"updated comment {comment_id} of {author} on pull request #{number}"
    made, _ = _request("POST", comments, headers, {"body": text})
    done = f"posted comment {(made or {}).get('id')} on pull request #{number}"
    poster = _login(made, "user")
    if poster and poster.casefold() != author.casefold():
        done += (
            f"; it was posted as {poster}, not {author}: set FTBENCH_COMMENT_AUTHOR={poster} "
            "(the Action's comment-author) so that the next run edits it"
        )
    return done


def gitlab(body: str, key: str, env: Mapping[str, str]) -> str:
    token = env.get("FTBENCH_GITLAB_TOKEN", "").strip()
    if not token:
        raise Skip("no FTBENCH_GITLAB_TOKEN (a project or personal token with the api scope)")
    iid = env.get("CI_MERGE_REQUEST_IID", "").strip()
    if not iid:
        raise Skip("not a merge request pipeline")
    api = env.get("CI_API_V4_URL", "").rstrip("/")
    project = env.get("CI_PROJECT_ID", "").strip()
    if not api or not project:
        raise Skip("CI_API_V4_URL or CI_PROJECT_ID is not set")
    headers = {"PRIVATE-TOKEN": token, "User-Agent": "ftbench-sticky-comment"}
    notes = f"{api}/projects/{urllib.parse.quote(project, safe='')}/merge_requests/{iid}/notes"
    marker = _marker(key)
    me = _whoami(api, headers)
    named = env.get("FTBENCH_COMMENT_AUTHOR", "").strip()

    def own(note: Any) -> bool:
        author = note.get("author") if isinstance(note.get("author"), dict) else {}
        if note.get("system"):
            return False
        if me.get("id") is not None:
            return bool(author.get("id") == me["id"])
        return bool(named) and str(author.get("username") or "").casefold() == named.casefold()

    found = None
    if me.get("id") is not None or named:
        found = _find(f"{notes}?per_page=100&sort=asc", headers, marker, own)
    text = _with_marker(body, marker)
    if found is not None:
        note_id = int(found["id"])
        _request("PUT", f"{notes}/{note_id}", headers, {"body": text})
        return f"updated note {note_id} on merge request !{iid}"
    made, _ = _request("POST", notes, headers, {"body": text})
    done = f"posted note {(made or {}).get('id')} on merge request !{iid}"
    if me.get("id") is None and not named:
        done += (
            "; the token cannot read its user (GET /user) and FTBENCH_COMMENT_AUTHOR is not "
            "set, so no earlier note is edited (set it to the token's username)"
        )
    return done


def _with_marker(body: str, marker: str) -> str:
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + "\n\n… (cut: the whole report is in the job's artifacts)\n"
    return f"{marker}\n{body}"


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ftbench.sticky",
        description="Post or update one sticky benchmark comment on a pull/merge request.",
    )
    parser.add_argument("provider", choices=("github", "gitlab"))
    parser.add_argument("--body", type=Path, required=True, help="Markdown file to post")
    parser.add_argument(
        "--key", default="default", help="which sticky comment (one per key; default: default)"
    )
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        body = args.body.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"ftbench comment: skipped: cannot read {args.body} ({exc.strerror})")
        return 0
    post = github if args.provider == "github" else gitlab
    try:
        print(f"ftbench comment: {post(body, args.key, env)}")
    except Skip as why:
        print(f"ftbench comment: skipped: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
