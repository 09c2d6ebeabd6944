# The ftbench image: ftbench installed at build time from ftbench's repository (the build
# context: build it from anywhere with the repository's URL), the repository to benchmark
# mounted at /repo, the archive (the baseline when S3 is not configured) in the volume /archive.
#
#   docker build -t ftbench "https://<host>/<owner>/ftbench.git#<tag>"
#   docker run --rm -v "$PWD:/repo" -v ftbench-archive:/archive \
#     -e FTBENCH_INSTALL="pip install -e . pytest" ftbench run
#   docker run --rm -v "$PWD:/repo" -v ftbench-archive:/archive \
#     -e S3_ACCESS_KEY_ID -e S3_SECRET_ACCESS_KEY -e S3_ENDPOINT_URL -e S3_BUCKET_NAME \
#     ftbench run --upload-s3
#
# FTBENCH_INSTALL installs the mounted project into /opt/project, the commands' interpreter
# (ci/docker/entrypoint.sh); without it the repository's .venv when it runs here, else the
# image's python; never ftbench's own /opt/ftbench/venv. Reports are written to
# /repo/.firsttry/ (bench_proof.json, .md, bench_report.env). Your project's own image with
# ftbench inside: docs/ci.md, Docker.
FROM python:3.12-slim-bookworm

# git: the repository's commit, branch and fingerprint. A mounted checkout belongs to another
# user, which git refuses without safe.directory.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'

WORKDIR /opt/ftbench
COPY pyproject.toml README.md LICENSE MANIFEST.in ./
COPY src ./src
COPY scripts/ft_bench_run.sh ./scripts/
COPY ci/docker/entrypoint.sh ./ci/docker/
RUN python -m venv /opt/ftbench/venv \
    && /opt/ftbench/venv/bin/pip install --no-cache-dir --disable-pip-version-check ".[s3]"

ENV PATH="/opt/ftbench/venv/bin:$PATH" \
    FTBENCH_ARCHIVE_DIR=/archive
VOLUME ["/archive"]
WORKDIR /repo
ENTRYPOINT ["/opt/ftbench/ci/docker/entrypoint.sh"]
CMD ["run"]
