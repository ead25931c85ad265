#!/usr/bin/env bash
# Makes sure a Chromium is there for the report page's browser test (npm run test:browser):
# $CHROMIUM_PATH when set, else `chromium` on the PATH, else Debian's `chromium` package
# installed with apt-get (CI; as root, or through sudo). Installs nothing when one is found,
# so later runs return at once. Prints the executable's path (the test finds it the same way).
set -euo pipefail

if [ -n "${CHROMIUM_PATH:-}" ]; then
  [ -x "$CHROMIUM_PATH" ] || { echo "[browser] CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2; exit 1; }
  echo "$CHROMIUM_PATH"
  exit 0
fi
if command -v chromium >/dev/null 2>&1; then
  command -v chromium
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || {
  echo '[browser] no chromium and no apt-get: install Chromium and set CHROMIUM_PATH to it' >&2
  exit 127
}
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
echo '[browser] installing Debian chromium (first run: a minute or two)' >&2
"${sudo[@]}" apt-get update -qq >&2
# With its recommended packages: they bring the fonts the page and its screenshots need.
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >&2
command -v chromium
