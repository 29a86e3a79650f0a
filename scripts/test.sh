#!/usr/bin/env bash
# The whole test suite: unit tests (no privileges) and the namespace lab tests (root; skipped with
# the reason otherwise). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
scripts/install-deps.sh
# The lab tests run the real binary: build it first.
swift build
if [[ $# -gt 0 ]]; then
    swift test "$@"
    exit
fi
# Two passes. The lab tests block their threads while a lab command runs, and on a two-core machine
# they would hold up Swift concurrency's few threads that the exporter's async tests (NIO servers,
# timed waits) need: those run on their own afterwards.
status=0
swift test --skip ExporterTests || status=$?
swift test --skip-build --filter ExporterTests || status=$?
exit $status
