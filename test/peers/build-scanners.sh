#!/usr/bin/env bash
# Installs the template scanners once into the peers' cache (git ignores it), next to
# moto's venv: checkov (CloudFormation framework) and cfn-lint, pinned, in their own venv
# so that their dependencies never meet moto's. Later runs return in well under a second.
# Prints the directory holding both executables.
set -euo pipefail

cache=${CIM_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/customer-infra-manager/peers}
CHECKOV_VERSION=3.3.30
CFN_LINT_VERSION=1.58.0

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
echo "$venv/bin"
