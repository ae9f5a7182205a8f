// Package kernels holds regcl's OpenCL C sources, embedded into the binary,
// and the kernel contract: the one description of them that the host reads.
// device/opencl builds them, device/cpu is their readable Go twin, and
// device/opencl/tuner searches their parameters.
//
// # The contract
//
// Programs lists the programs regcl builds on a device: Ops (elementwise,
// reduction, BatchNorm, softmax, Adam and Philox dropout kernels), GemmCPU
// (register-blocked products for CPU devices) and GemmGPU (local-memory tiled
// products). Each Program declares its source files, every kernel it
// defines, and every tuning parameter (Param) with its allowed values; its
// check function states the constraints between them and the device's
// Limits, and its defaults function derives untuned values from what the
// device reports (GemmCPU's vector width is the device's preferred or native
// float vector width, so an AVX-512 device gets 16 lanes untuned). Constants
// are the macros every program gets (the accumulator slots of
// device.Backend, MAX_CLASSES), declared once here.
//
// GemmGPU chooses a kernel per product: Direct says which products take the
// direct kernels (small in N or K), SplitK how a tiled product's K is cut
// into slices whose partial tiles gemm_split_finish adds in a fixed order
// with the epilogue, and the tiled kernel takes the rest.
//
// The host never restates a kernel constant: Options renders a Settings as
// the -D build options, device/opencl computes every launch's global and
// local size from the same Settings, Space enumerates what the tuner may
// choose, and SourceHash keys tuning files to the exact sources.
//
// # Lanes and arguments
//
// Every kernel serves the L lanes of a backend in one launch: grid
// dimension 2 is the lane, and each buffer argument is a pointer with the
// buffer's element offset within each lane's part and its lane stride (0
// for a buffer all lanes share), lanes.cl's BUF and LANE_PTR. The lanes'
// hyper-parameters are read by lane from two small buffers (lane_u, lane_f)
// whose slots are Constants. Signatures declares every kernel's arguments
// once for the host, which checks each launch against them; a test compares
// them with the sources.
//
// # Sources
//
// Source concatenates a program's files in dependency order. Each file opens
// with a banner naming its kernels and their size assumptions; tuning values
// have #ifndef defaults (the contract's defaults are always passed
// explicitly) and are overridden with -D build options.
package kernels
