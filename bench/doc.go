// Package bench measures regcl behind `regcl bench`: for every backend it can
// reach (each OpenCL device, and the gonum CPU backend), training throughput
// of the study's network at batch 128 (full 54,000-image epochs after one
// warm-up epoch, the median of several), inference throughput on the 10,000
// test images, GEMM GFLOP/s at every product shape a training step issues
// and at 1024³, device time per step broken down by kernel (from OpenCL
// profiling events), peak resident memory, and the startup cost (library load
// and kernel compilation).
//
// Machines are shared and noisy: every figure is a median, and comparisons
// are made side by side in one run (bench/compare.sh runs the peers).
package bench
