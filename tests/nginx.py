"""Debian's nginx as the TLS proxy's stand-in: a reverse proxy on loopback for one test run.

Its own configuration, pid file, logs and temp folders under ``directory``; started in the
foreground (``daemon off``) and stopped by the fixture. The package's own service is not used.
nginx connects to the service from ``UPSTREAM_SOURCE`` (127.0.0.2), the one address the service
is told to trust, so clients on 127.0.0.1, 127.0.0.3 or ::1 are never mistaken for the proxy.
"""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cluster.nginx import NGINX, PREAMBLE, TEMP_PATHS, user
from tests.servers import die_with_parent, free_port, wait_until

UPSTREAM_SOURCE = "127.0.0.2"

CONF = (
    PREAMBLE
    + """http {{
  access_log {dir}/access.log;"""
    + TEMP_PATHS
    + """  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen 127.0.0.1:{port};
    listen [::1]:{port};
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_bind {source};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
    }}
  }}
}}
"""
)


@dataclass
class Nginx:
    directory: Path
    upstream_port: int
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url6(self) -> str:
        return f"http://[::1]:{self.port}"

    def start(self) -> None:
        conf = self.directory / "nginx.conf"
        conf.write_text(
            CONF.format(
                dir=self.directory,
                port=self.port,
                upstream=self.upstream_port,
                source=UPSTREAM_SOURCE,
                user=user(),
                connections=512,
            )
        )
        self.process = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(self.directory), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "stderr.log").open("wb"),
            preexec_fn=die_with_parent(),
        )
        wait_until(self._listening, 20, "nginx", self.process)

    def _listening(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
