"""The rasa-webchat bundle the browser tests embed is the one the lock pins
(scripts/vendor-webchat refreshes it)."""

from __future__ import annotations

import hashlib
import json

from tests.servers import ROOT

VENDOR = ROOT / "tests" / "vendor" / "rasa-webchat"


def test_the_vendored_rasa_webchat_is_the_locked_tarballs_bundle() -> None:
    locked = json.loads((VENDOR / "package-lock.json").read_text())["packages"]
    package = locked["node_modules/rasa-webchat"]
    wanted = json.loads((VENDOR / "package.json").read_text())["dependencies"]["rasa-webchat"]
    assert package["version"] == wanted == locked[""]["dependencies"]["rasa-webchat"]
    assert package["integrity"].startswith("sha512-")
    header, *lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    # Written by the script from the tarball it checked against this integrity hash.
    assert header == f"# rasa-webchat {package['version']}, from the tarball {package['integrity']}"
    sums = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    assert set(sums) == {"lib/index.js", "LICENSE"}
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    bundle = (VENDOR / "lib" / "index.js").read_text()
    assert f'version:"{package["version"]}"' in bundle  # the version it stamps on its session
    assert "Apache License" in (VENDOR / "LICENSE").read_text()
