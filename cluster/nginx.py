"""The PRODUCTION nginx site (deploy/nginx/cjg-chat.conf) rendered for loopback: only its
addresses, certificate and paths change (to free ports and a temp folder), and its upstream gets
one ``server`` line per service instance. Used by the local layout (cluster/layout.py) and by
tests/deploy/test_nginx_site.py, so both run the file the CJG's IT installs.

Standard library only, so that both Python environments (and bench/) can load this file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "cjg-chat.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# The production upstream line, up to its options (which each rendered line keeps).
UPSTREAM_LINE = "server 127.0.0.1:8080 "

# Outside http {}: a private nginx under {dir}, in the foreground.
PREAMBLE = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{ worker_connections {connections}; }}
"""
TEMP_PATHS = """
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
"""
MAIN_CONF = (
    PREAMBLE
    + """http {{
  # What Debian's /etc/nginx/nginx.conf sets around the sites it includes.
  sendfile on;
  tcp_nopush on;
  types_hash_max_size 2048;
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
  ssl_prefer_server_ciphers on;
  access_log {dir}/access.log;
  gzip on;"""
    + TEMP_PATHS
    + """  include {dir}/sites-enabled/*;
}}
"""
)


def user() -> str:
    """As root, nginx would hand its workers to www-data, which cannot write in a temp dir."""
    return "user root root;" if os.geteuid() == 0 else ""


class SiteChanged(RuntimeError):
    """The production site no longer has a line this rendering changes."""


def render_site(site: str, replacements: dict[str, str]) -> str:
    """The production site with its EDIT values changed; each must be found, so a change of
    the site that this rendering no longer follows fails here instead of running something
    else."""
    for old, new in replacements.items():
        if old not in site:
            raise SiteChanged(f"{old!r} is no longer in {SITE.name}: update cluster/nginx.py")
        site = site.replace(old, new)
    return site


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, ::1 and localhost, made with Debian's openssl;
    the key is mode 600."""
    crt, key = directory / "chat.crt", directory / "chat.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "30", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(crt),
         "-addext", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return crt, key


def write_config(directory: Path, upstreams: list[str], port: int, http_port: int) -> Path:
    """nginx.conf (Debian's main settings around the site) and the rendered site under
    ``directory``, with a new certificate; ``upstreams`` are the instances' host:port. Returns
    the nginx.conf to start nginx with (``-c`` and ``-p directory``)."""
    crt, key = certificate(directory)
    options = " max_fails=1 fail_timeout=10s;\n    "
    servers = options.join(f"server {upstream}" for upstream in upstreams) + " "
    site = render_site(
        SITE.read_text(),
        {
            UPSTREAM_LINE: servers,
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen [::]:80;": f"listen [::1]:{http_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
            "listen [::]:443 ssl;": f"listen [::1]:{port} ssl;",
            "/etc/ssl/cjg/chat.crt": str(crt),
            "/etc/ssl/cjg/chat.key": str(key),
            "/opt/cjg/app/": f"{ROOT}/",
            "/var/log/nginx/": f"{directory}/",
            "/var/www/letsencrypt": f"{directory}/acme",
        },
    )
    (directory / "sites-enabled").mkdir(exist_ok=True)
    (directory / "sites-enabled" / "cjg-chat").write_text(site)
    conf = directory / "nginx.conf"
    conf.write_text(MAIN_CONF.format(dir=directory, user=user(), connections=1024))
    return conf


def check(conf: Path) -> str:
    """``nginx -t`` on ``conf``: its output (warnings included), or RuntimeError with it."""
    result = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(conf.parent)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"nginx -t refused {conf}:\n{result.stderr}")
    return result.stderr


def argv(conf: Path) -> list[str]:
    """nginx in the foreground (stopped with its process, never left behind as a daemon)."""
    return [NGINX, "-c", str(conf), "-p", str(conf.parent), "-g", "daemon off;"]
