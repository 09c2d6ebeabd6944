"""Post or update ONE sticky comment on a GitHub pull request or a GitLab merge request.

``python -m ftbench.sticky github|gitlab --body FILE [--key KEY]``, run by the GitHub Action
(``action.yml``) and the GitLab template (``ci/gitlab/ftbench.gitlab-ci.yml``). The comment is
found again by a hidden marker (``<!-- ftbench-report:KEY -->``) and edited in place, so a pull
request has one benchmark comment per key however often it is pushed. Standard library only
(REST calls with urllib), so it runs wherever ftbench is installed, act included.

Commenting never fails the job: without a token, outside a pull/merge request, on a fork's
pull request (read-only token) or when the API refuses, it prints one line saying why and
exits 0. Only a usage error exits 2. The token is sent only to the API URL the CI gives
(``GITHUB_API_URL`` / ``CI_API_V4_URL``) and never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MARKER = "<!-- ftbench-report:{key} -->"
#: GitHub and GitLab refuse comments longer than this (GitHub: 65536 characters)
MAX_BODY = 60000
TIMEOUT_S = 20


class Skip(Exception):
    """Not commenting, for a reason the user should read (exit 0)."""


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
            raise Skip(
                f"the API refused {method} (HTTP {exc.code}): the token cannot write comments "
                "here (GitHub: `permissions: pull-requests: write`; GitLab: a token with the "
                "api scope in FTBENCH_GITLAB_TOKEN)"
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


def _find(url: str, headers: Mapping[str, str], marker: str) -> Any:
    """The first comment holding ``marker`` among all pages of ``url``, or None."""
    next_url: str | None = url
    while next_url:
        page, response_headers = _request("GET", next_url, headers)
        for comment in page or []:
            if marker in (comment.get("body") or ""):
                return comment
        next_url = _next_link(response_headers)
    return None


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
    marker = MARKER.format(key=key)
    found = _find(f"{comments}?per_page=100", headers, marker)
    text = _with_marker(body, marker)
    if found is not None:
        _request(
            "PATCH", f"{api}/repos/{repo}/issues/comments/{found['id']}", headers, {"body": text}
        )
        return f"updated comment {found['id']} on pull request #{number}"
    made, _ = _request("POST", comments, headers, {"body": text})
    return f"posted comment {(made or {}).get('id')} on pull request #{number}"


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
    marker = MARKER.format(key=key)
    found = _find(f"{notes}?per_page=100&sort=asc", headers, marker)
    text = _with_marker(body, marker)
    if found is not None:
        _request("PUT", f"{notes}/{found['id']}", headers, {"body": text})
        return f"updated note {found['id']} on merge request !{iid}"
    made, _ = _request("POST", notes, headers, {"body": text})
    return f"posted note {(made or {}).get('id')} on merge request !{iid}"


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
