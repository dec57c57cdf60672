#!/usr/bin/env bash
# The reference server: Centrifugo v6.9.1, built from its Go module into .peers/bin (git-ignored) and
# reused when it is already there. Prints the binary's path as its only line on stdout; progress goes
# to stderr. Used by .ci/run, `npm run bench` and the differential suite. Nothing of Centrifugo's code
# is kept in this repository: only this install line.
#
#   bench/peers/centrifugo.sh            # → /path/to/sluice/.peers/bin/centrifugo
set -euo pipefail
VERSION="v6.9.1"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN_DIR="$ROOT/.peers/bin"
BIN="$BIN_DIR/centrifugo"

# The module version recorded in the binary (go install leaves `centrifugo version` at 0.0.0 unless told).
if [ -x "$BIN" ] && command -v go >/dev/null 2>&1 &&
  go version -m "$BIN" 2>/dev/null | grep -qE "^\s+mod\s+github.com/centrifugal/centrifugo/v6\s+$VERSION\s"; then
  echo "$BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "centrifugo.sh: Go is not installed; the reference server is built with it (install Go ≥ 1.24: https://go.dev/dl, or apt-get install golang)" >&2
  exit 1
fi
mkdir -p "$BIN_DIR"
echo "centrifugo.sh: building Centrifugo $VERSION with go install (a few minutes the first time)…" >&2
GOBIN="$BIN_DIR" go install -trimpath \
  -ldflags "-X github.com/centrifugal/centrifugo/v6/internal/build.Version=${VERSION#v}" \
  "github.com/centrifugal/centrifugo/v6@$VERSION" >&2
"$BIN" version >&2
echo "$BIN"
