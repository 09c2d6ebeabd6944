"""Keep secrets out of everything ftbench prints or writes.

Two mechanisms: an allowlist (only named environment variables are ever recorded) and a
scrubber for free text (credentials in URLs, ``--password=...`` and ``--token VALUE``
arguments, secret query parameters of presigned URLs, and the
values of secret-looking environment variables that happen to appear in text).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence

MASK = "***"
_SECRET_NAME = re.compile(
    r"(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_?KEY|"
    r"ACCESS_KEY|SESSION|AUTH|COOKIE|SIGNATURE)",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_SECRET_ARG = re.compile(
    r"(?P<key>(?:--?|\b)[A-Za-z0-9_-]*(?:secret|token|password|passwd|api[_-]?key|"
    r"access[_-]?key)[A-Za-z0-9_-]*[=:])(?P<value>[^\s'\"]+)",
    re.IGNORECASE,
)
_SECRET_FLAG = (
    r"--?[A-Za-z0-9_-]*(?:secret|token|password|passwd|api[_-]?key|access[_-]?key)[A-Za-z0-9_-]*"
)
#: ``--token VALUE`` (space-separated): the next word, unless it is another option.
_SECRET_FLAG_SPACED = re.compile(
    rf"(?P<key>(?<![\w-]){_SECRET_FLAG})(?P<sep>\s+)(?P<value>'[^']*'|\"[^\"]*\"|[^\s'\"-]\S*)",
    re.IGNORECASE,
)
_SECRET_FLAG_WORD = re.compile(rf"^{_SECRET_FLAG}$", re.IGNORECASE)
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&](?:X-Amz-Signature|X-Amz-Credential|"
    r"X-Amz-Security-Token|token|sig|signature)=)(?P<value>[^&\s]+)",
    re.IGNORECASE,
)

# Environment variables a report may record: CI context and harness settings, never values
# that could hold credentials.
ENV_ALLOWLIST = frozenset(
    {
        "CI",
        "FT_MAX_PROCS",
        "PYTHONHASHSEED",
        "LANG",
        "LC_ALL",
        "TZ",
        "GITHUB_ACTIONS",
        "GITHUB_WORKFLOW",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_NUMBER",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_JOB",
        "GITHUB_EVENT_NAME",
        "GITHUB_REF",
        "GITHUB_REF_NAME",
        "GITHUB_BASE_REF",
        "GITHUB_HEAD_REF",
        "GITHUB_SHA",
        "GITHUB_REPOSITORY",
        "GITHUB_SERVER_URL",
        "RUNNER_OS",
        "RUNNER_ARCH",
        "RUNNER_NAME",
        "GITLAB_CI",
        "CI_PIPELINE_ID",
        "CI_JOB_ID",
        "CI_JOB_NAME",
        "CI_JOB_URL",
        "CI_PIPELINE_URL",
        "CI_COMMIT_SHA",
        "CI_COMMIT_REF_NAME",
        "CI_COMMIT_BRANCH",
        "CI_COMMIT_TAG",
        "CI_MERGE_REQUEST_IID",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
        "CI_PROJECT_PATH",
        "CI_RUNNER_ID",
        "BUILDKITE",
        "BUILDKITE_BUILD_NUMBER",
        "BUILDKITE_BRANCH",
        "CIRCLECI",
        "CIRCLE_BRANCH",
        "CIRCLE_BUILD_NUM",
        "JENKINS_URL",
        "BUILD_NUMBER",
        "TF_BUILD",
        "BUILD_BUILDID",
    }
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name) or is_credential_name(name))


#: CI credentials, named for clarity (the rule of :func:`is_credential_name` covers them).
CI_CREDENTIALS = frozenset(
    {
        "GITHUB_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "CI_JOB_TOKEN",
        "CI_JOB_JWT",
        "CI_JOB_JWT_V1",
        "CI_JOB_JWT_V2",
        "CI_REGISTRY_PASSWORD",
        "DOCKER_AUTH_CONFIG",
    }
)
_CREDENTIAL_PART = re.compile(
    r"SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY"
)
_LAST_WORDS = frozenset({"KEY", "KEYS", "AUTH", "AUTHORIZATION", "COOKIE", "COOKIES"})
_LICENCE = ("LICENSE_KEY", "LICENCE_KEY")
#: Values shorter than this are not masked in free text (``1``, ``true``: too common).
MIN_SECRET_LEN = 6


def is_credential_name(name: str) -> bool:
    """Whether a variable's name says it holds a credential (upper-cased, words split at
    ``_``): a CI token of :data:`CI_CREDENTIALS`; ``SECRET``, ``PASSWORD``, ``PASSWD``,
    ``PASSPHRASE``, ``CREDENTIAL``, ``PRIVATE_KEY``, ``API_KEY`` or ``ACCESS_KEY`` anywhere
    (``PGPASSWORD``); a word ending in ``TOKEN`` (``NPM_TOKEN``, ``npm_config__authToken``),
    or ``JWT`` or ``PAT``; a last word ``KEY``, ``AUTH``, ``AUTHORIZATION`` or ``COOKIE``
    (``STRIPE_KEY``). Not: ``SSH_AUTH_SOCK``, ``XAUTHORITY``, ``GIT_AUTHOR_NAME``,
    ``TOKENIZERS_PARALLELISM``, ``KEYBOARD_LAYOUT``, ``PYTHONHASHSEED``, ``XDG_SESSION_ID``."""
    upper = name.upper()
    if upper in CI_CREDENTIALS or _CREDENTIAL_PART.search(upper):
        return True
    words = [w for w in upper.split("_") if w]
    if any(w.endswith(("TOKEN", "TOKENS")) or w in ("JWT", "PAT") for w in words):
        return True
    return len(words) > 1 and words[-1] in _LAST_WORDS


def is_own_secret(name: str, value: str = "") -> bool:
    """ftbench's own credentials, kept from the commands it measures: every ``S3_*`` or
    ``AWS_*`` variable with a secret-looking name (``S3_SECRET_ACCESS_KEY``,
    ``AWS_SESSION_TOKEN``, ...), and ``S3_ENDPOINT_URL`` when it holds ``user:password@``."""
    if name == "S3_ENDPOINT_URL":
        return bool(_URL_USERINFO.search(value))
    return name.startswith(("S3_", "AWS_")) and is_secret_name(name)


def kept_from_commands(name: str, value: str = "") -> bool:
    """Whether a variable is removed from the benchmarked commands' environment: ftbench's
    own credentials (:func:`is_own_secret`) and every :func:`is_credential_name`, but a
    licence key (``FIRSTTRY_LICENSE_KEY``: what the measured tool needs to run at all)."""
    if is_own_secret(name, value):
        return True
    return is_credential_name(name) and not name.upper().endswith(_LICENCE)


def target_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a benchmarked command: ftbench's, without credentials
    (:func:`kept_from_commands`); a step's ``pass_env`` puts named ones back."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if not kept_from_commands(k, v)}


def log_secrets(environ: Mapping[str, str] | None = None) -> tuple[bytes, ...]:
    """What is masked in the commands' logs: the values of ftbench's credential variables
    (:func:`is_credential_name`, :func:`is_own_secret`: passed with ``pass_env`` or not) and
    the ``user:password`` of URLs in any variable, each at least :data:`MIN_SECRET_LEN` long;
    as the bytes a command would print."""
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name, value in env.items():
        if is_credential_name(name) or is_own_secret(name, value):
            found.add(value)
        found.update(m["userinfo"] for m in _URL_USERINFO.finditer(value))
    return tuple(
        sorted((os.fsencode(v) for v in found if len(v) >= MIN_SECRET_LEN), key=len, reverse=True)
    )


def _secret_values(environ: Mapping[str, str]) -> list[str]:
    values = {v for k, v in environ.items() if is_secret_name(k) and len(v) >= MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def scrub(
    text: str, environ: Mapping[str, str] | None = None, extra_secrets: Iterable[str] = ()
) -> str:
    """``text`` with URL credentials, secret-looking arguments and known secret values masked."""
    env = os.environ if environ is None else environ
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _SECRET_ARG.sub(lambda m: f"{m['key']}{MASK}", text)
    text = _SECRET_FLAG_SPACED.sub(lambda m: f"{m['key']}{m['sep']}{MASK}", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['key']}{MASK}", text)
    for value in [*_secret_values(env), *(s for s in extra_secrets if s)]:
        text = text.replace(value, MASK)
    return text


def scrub_argv(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Each word of a command line scrubbed, and the word after a secret-looking option
    (``--token VALUE``, ``--password VALUE``) masked whole."""
    shown: list[str] = []
    for i, word in enumerate(argv):
        after_flag = i > 0 and bool(_SECRET_FLAG_WORD.match(argv[i - 1]))
        shown.append(MASK if after_flag and not word.startswith("-") else scrub(word, environ))
    return tuple(shown)


def strip_url_credentials(url: str) -> str:
    """A URL without any ``user:password@`` part (for git remotes)."""
    return _URL_USERINFO.sub(lambda m: m["scheme"], url)


def allowed_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {k: scrub(env[k], env) for k in sorted(ENV_ALLOWLIST) if k in env}
