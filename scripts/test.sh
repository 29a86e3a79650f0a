#!/usr/bin/env bash
# The whole test suite: unit tests (no privileges) and the namespace lab tests (root; skipped with
# the reason otherwise). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
scripts/install-deps.sh
# The lab tests run the real binary: build it first.
swift build
swift test "$@"
