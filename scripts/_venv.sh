# Sourced by scripts/test and scripts/run: use the active virtualenv, or create and activate
# .venv in the repository with Python 3.11 or newer.

scope_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "Scope needs Python 3.11 or newer (python3.11 or python3 on PATH)." >&2
  return 1
}

scope_activate_venv() {
  if [[ -n "${VIRTUAL_ENV:-}" ]]; then
    echo "Using the active virtualenv $VIRTUAL_ENV"
    return 0
  fi
  if [[ ! -x .venv/bin/python ]]; then
    local python
    python=$(scope_python)
    echo "Creating .venv with $($python --version)"
    "$python" -m venv .venv
  fi
  # shellcheck disable=SC1091
  source .venv/bin/activate
}
