#!/usr/bin/env bash
# setup.sh installs everything the SDK's tests, demo and benchmarks need into .tools/,
# the one place for it. It is idempotent: each step checks what is already there (and its
# checksum) and does nothing when it is. Nothing here downloads from anywhere but the Go module
# proxy, Debian's packages and the npm registry.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin"

log() { printf 'setup: %s\n' "$*" >&2; }

# --- Go ------------------------------------------------------------------------------------
command -v go >/dev/null || { log "Go is not installed (need go1.26.x at /usr/local/go)"; exit 1; }

# --- Debian packages (cgo needs a C compiler for ONNX Runtime and the race detector) ---------
need_pkgs=()
command -v gcc >/dev/null || need_pkgs+=(gcc libc6-dev)
command -v npm >/dev/null || need_pkgs+=(npm)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing Debian packages: ${need_pkgs[*]}"
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# --- Chromium (headless) for the console's browser test (console.TestConsoleInBrowser), -----
# which drives it over the DevTools protocol (chromedp): no driver binary is needed.
if ! command -v chromium >/dev/null; then
	log "installing Debian packages: chromium"
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# --- ONNX Runtime 1.24.1 shared library (from the npm package, never npm install) ------------
ort_version=1.24.1
ort_sha256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
ort_dir="$tools/onnxruntime-$ort_version"
ort_lib="$ort_dir/libonnxruntime.so.1"
if ! echo "$ort_sha256  $ort_lib" | sha256sum -c --status 2>/dev/null; then
	log "fetching ONNX Runtime $ort_version"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "onnxruntime-node@$ort_version" >/dev/null)
	tar -xzf "$tmp/onnxruntime-node-$ort_version.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
	if ! echo "$ort_sha256  $tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | sha256sum -c --status; then
		log "ONNX Runtime library checksum mismatch: refusing it"
		exit 1
	fi
	mkdir -p "$ort_dir"
	mv "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$ort_lib"
	rm -rf "$tmp"
	trap - EXIT
fi

# --- btcd, built from the version pinned in go.mod (tool github.com/btcsuite/btcd) ------------
btcd_version=$(cd "$root" && go list -m -f '{{.Version}}' github.com/btcsuite/btcd)
stamp="$tools/bin/btcd.version"
if [ ! -x "$tools/bin/btcd" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$btcd_version" ]; then
	log "building btcd $btcd_version"
	(cd "$root" && go build -o "$tools/bin/btcd" github.com/btcsuite/btcd)
	echo "$btcd_version" >"$stamp"
fi

# --- staticcheck, pinned ---------------------------------------------------------------------
sc_version=v0.8.2
stamp="$tools/bin/staticcheck.version"
if [ ! -x "$tools/bin/staticcheck" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sc_version" ]; then
	log "building staticcheck $sc_version"
	GOBIN="$tools/bin" go install "honnef.co/go/tools/cmd/staticcheck@$sc_version"
	echo "$sc_version" >"$stamp"
fi

# --- Go modules ------------------------------------------------------------------------------
(cd "$root" && go mod download)
if [ -f "$root/bench/go.mod" ]; then (cd "$root/bench" && go mod download); fi
