// Package opencl implements device.Backend with the OpenCL C kernels of
// package kernels, through the runtime-loaded binding in device/opencl/cl.
//
// Open builds the programs once per device, with the device's tuning values
// as -D options (package kernels renders them), and every Backend made from
// it shares those programs; each Backend has its own in-order command queue
// and kernel objects. Buffers are released by Free or Close, never by
// finalizers.
//
// # Lanes
//
// A Backend serves L lanes (Device.NewBackend(L)), and every operation is
// one launch for all of them: grid dimension 2 is the lane (global size L,
// local size 1), as the batch index of CLBlast's XgemmStridedBatched. A
// per-lane buffer is one cl_mem holding L parts at a fixed lane stride (each
// part padded to the device's base-address alignment); a view is the same
// cl_mem with an element offset within each part (no sub-buffers); a shared
// buffer (AllocShared) has lane stride 0, so every lane reads its one part,
// and the other backends of the same Device accept it. A kernel takes
// (pointer, offset, lane stride) for each buffer argument and moves to its
// lane's part first (kernels/lanes.cl); the argument lists are declared once
// in kernels.Signatures, and every launch is checked against them.
//
// The lanes' hyper-parameters (device.LaneParams) live in two small device
// buffers that SetLanes writes and the kernels read by lane: the dropout
// key, threshold and switch (lane_u), the dropout scale, L1, L2 and learning
// rate (lane_f), each rounded to float once. Adam's step rate is computed by
// the kernel as (float)LR · (float)Correction.
//
// Launch sizes come from the tuning's settings, the product's launches
// computed once per shape (a plan: kernels, grid, packing scratch). The
// packing scratch of the CPU product is per lane.
//
// # Described devices and the step plan
//
// Describe makes a device from an Info alone (read from a YAML description,
// ReadDescription, or a real device's) and a tuning, with no OpenCL
// context: its backends allocate nothing and run nothing, and compute
// every launch with the same code as a real backend (launch, op, vec1D,
// the products' plan), recording each instead of enqueueing it.
// Backend.Record turns the recording on for a real backend too, and
// Launches returns what was recorded: kernel, program and settings,
// global and local size (lane in dimension 2), the integer arguments by
// their declared names, and a product's tile. regcl plan prints them for a
// training step driven by package train, so that neither the geometry nor
// the step is written twice; the test TestDescribedLaunchesAsReal checks
// that a described device records what the real one launches.
//
// Operations only enqueue: a training step never waits for the device. Write
// and Read are blocking transfers; Finish waits for the queue. OpenCL
// failures become sticky errors naming the call, the kernel and the status
// (clEnqueueNDRangeKernel(gemm_nt): CL_OUT_OF_RESOURCES), with a hint.
package opencl
