#!/usr/bin/env bash
# Builds the real peers once into a cache that git ignores:
#   kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes v1.36.3),
#   etcd (v3.6), kwok, all from the Go module proxy through the pinned modules in tools/,
#   and moto_server (PyPI moto[server]) in a virtual environment.
# Later runs find the stamped binaries and return in well under a second.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${CIM_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/customer-infra-manager/peers}
bin="$cache/bin"
mkdir -p "$bin"

KUBE_VERSION=v1.36.3
MOTO_VERSION=5.2.5

log() { printf '[peers] %s\n' "$*" >&2; }
need() {
  command -v "$1" >/dev/null 2>&1 || { log "missing $1: $2"; exit 127; }
}

build_go() { # name module-dir stamp-file -- go build args...
  local name=$1 dir=$2 stamp=$3; shift 3
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(sha256sum "$here/tools/$dir/go.sum" | cut -c1-16)" ]; then
    return 0
  fi
  need go "install Go 1.26 or newer (https://go.dev/dl is not reachable here: use the machine's Go)"
  log "building $name (first build takes a while on 2 cores; later runs reuse $cache)"
  local t0=$SECONDS
  (cd "$here/tools/$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath "$@")
  sha256sum "$here/tools/$dir/go.sum" | cut -c1-16 >"$stamp"
  log "built $name in $((SECONDS - t0)) s"
}

need openssl "install it (apt-get install openssl): the sandbox generates its certificates with it"
t_all=$SECONDS
kv=$KUBE_VERSION; major=1; minor=${kv#v1.}; minor=${minor%%.*}
ldk="-s -w -X k8s.io/component-base/version.gitVersion=$kv -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
build_go "etcd 3.6" etcd "$bin/.etcd.stamp" -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
build_go "kwok" kwok "$bin/.kwok.stamp" -ldflags "-s -w" -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok
build_go "kube-apiserver, kube-controller-manager, kube-scheduler $kv" kube "$bin/.kube.stamp" \
  -ldflags "$ldk" -o "$bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler

# kwok's default stages (node ready + heartbeat, pod ready/complete/delete) ship in the
# pinned kwok module; assemble them from the module cache rather than copying them here.
stages="$cache/kwok-stages.yaml"
if [ ! -s "$stages" ] || [ "$bin/.kwok.stamp" -nt "$stages" ]; then
  kd=$(cd "$here/tools/kwok" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  : >"$stages.tmp"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    { cat "$kd/kustomize/stage/$f"; printf '\n---\n'; } >>"$stages.tmp"
  done
  mv "$stages.tmp" "$stages"
fi

venv="$cache/venv"
if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  need python3 "install Python 3.9 or newer"
  log "installing moto[server]==$MOTO_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
ln -sf "$venv/bin/moto_server" "$bin/moto_server"

log "peers ready in $bin ($((SECONDS - t_all)) s)"
echo "$bin"
