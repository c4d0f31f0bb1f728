# Shared settings for the scripts in this folder; sourced, never run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export UV_PYTHON_DOWNLOADS=never      # both Pythons come from the image, never from a download
export UV_PROJECT_ENVIRONMENT="$ROOT/.venv"
UV_VERSION="0.13.8"
UV="$ROOT/.tools/bin/uv"
RASA_PY="$ROOT/.venv-rasa/bin/python"
SERVICE_PY="$ROOT/.venv/bin/python"
MODEL="$ROOT/models/cjg.tar.gz"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# find_python 3.10 -> path of a working interpreter of that minor version (PATH first, then pyenv).
# A pyenv shim can exist on PATH without working, so each candidate is asked for its version.
find_python() {
  local want="$1" candidate path
  for candidate in "python$want" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want".*/bin/python"$want"; do
    path="$(command -v "$candidate" 2>/dev/null)" || continue
    if [ "$("$path" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      echo "$path"; return 0
    fi
  done
  return 1
}
