#!/usr/bin/env bash
# Quick start: install what is missing (apt, idempotent), build a release binary, and run the demo
# (a throwaway namespace lab with a PPPoE hop and a black hole). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
scripts/install-deps.sh
swift build -c release
scripts/demo.sh
