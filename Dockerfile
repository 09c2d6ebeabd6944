# ftbench in an image: installed at build time, the repository mounted at /repo, the archive
# (the baseline when S3 is not configured) in the volume /archive.
#
#   docker build -t ftbench .
#   docker run --rm -v "$PWD:/repo" -v ftbench-archive:/archive ftbench run --tier lite
#   docker run --rm -v "$PWD:/repo" -v ftbench-archive:/archive \
#     -e S3_ACCESS_KEY_ID -e S3_SECRET_ACCESS_KEY -e S3_ENDPOINT_URL -e S3_BUCKET_NAME \
#     ftbench run --tier lite --upload-s3
#
# Reports are written to /repo/.firsttry/ (bench_proof.json, .md, bench_report.env).
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
RUN python -m venv /opt/ftbench/venv \
    && /opt/ftbench/venv/bin/pip install --no-cache-dir --disable-pip-version-check ".[s3]"

ENV PATH="/opt/ftbench/venv/bin:$PATH" \
    FTBENCH_ARCHIVE_DIR=/archive
VOLUME ["/archive"]
WORKDIR /repo
ENTRYPOINT ["ft-bench"]
CMD ["run", "--tier", "lite"]
