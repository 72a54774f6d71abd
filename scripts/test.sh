#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration, UI (trybuild) and doc tests.
#
#   ./scripts/test.sh
#
# Works on a fresh machine by itself: it installs what the tests need and is missing
# (cargo-nextest when it cannot be found falls back to `cargo test`). Extra arguments
# go to the test runner (e.g. a test-name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif have sudo; then sudo "$@"; else
        echo "error: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

# Debian packages the tests use, installed only when missing.
need_debian_package() { # <command> <package>
    if ! have "$1"; then
        echo "==> installing $2 (Debian package, needed by the tests)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    fi
}
# The Redis tests start their own redis-server processes.
need_debian_package redis-server redis-server

if cargo nextest --version >/dev/null 2>&1; then
    echo "==> cargo nextest run"
    cargo nextest run --workspace --all-features --no-fail-fast "$@"
else
    echo "==> cargo test (cargo-nextest not found)"
    cargo test --workspace --all-features --no-fail-fast --lib --bins --tests "$@"
fi
echo "==> doc tests"
cargo test --workspace --all-features --doc "$@"
