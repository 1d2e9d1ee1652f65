#!/usr/bin/env bash
# Build the control-plane binaries the k8s API tests need, from source through the Go module
# proxy, into a cache directory outside the work tree ($OUT, default $(go env GOPATH)/bin/
# k8s-harness-<k8s version>) so a fresh clone on the same machine (CI) reuses them.
# Each binary is rebuilt only when missing, or when its version stamp file differs.
set -euo pipefail
cd "$(dirname "$0")"

K8S_VERSION=${K8S_VERSION:-v1.37.2}
KINE_VERSION=${KINE_VERSION:-v0.17.5}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
OUT=${OUT:-$(go env GOPATH)/bin/k8s-harness-${K8S_VERSION}}
# Two cores shared with other jobs: low build parallelism keeps memory and the machine sane.
JOBS=${JOBS:-2}
mkdir -p "$OUT"

stamped() { # binary, stamp -> true when the cached binary was built from that stamp
  [[ -x "$OUT/$1" && "$(cat "$OUT/$1.version" 2>/dev/null)" == "$2" ]]
}

build_kube() { # name of a cmd under k8s.io/kubernetes/cmd
  local name=$1 minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  if stamped "$name" "$K8S_VERSION"; then echo "$name $K8S_VERSION: cached"; return; fi
  echo "building $name $K8S_VERSION (cold: tens of minutes on 2 busy cores)"
  # Stamp the version like hack/lib/version.sh does: helm reads it for .Capabilities.KubeVersion.
  local ldflags="-s -w"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  go build -p "$JOBS" -trimpath -ldflags "$ldflags" -o "$OUT/$name.tmp" "k8s.io/kubernetes/cmd/$name"
  mv "$OUT/$name.tmp" "$OUT/$name" && echo "$K8S_VERSION" > "$OUT/$name.version"
}

install_tool() { # binary name, module@version path of its main package
  local name=$1 pkg=$2 version=${2##*@}
  if stamped "$name" "$version"; then echo "$name $version: cached"; return; fi
  echo "building $name $version"
  GOBIN="$OUT" go install -p "$JOBS" -trimpath -ldflags "-s -w" "$pkg"
  echo "$version" > "$OUT/$name.version"
}

build_kube kube-apiserver
install_tool kine "github.com/k3s-io/kine@$KINE_VERSION"
install_tool kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
ls -l "$OUT"
