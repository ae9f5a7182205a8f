// Package opencl implements device.Backend with the OpenCL C kernels of
// package kernels, through the runtime-loaded binding in device/opencl/cl.
//
// Open builds the programs once per device, with the device's tuning values
// as -D options (package kernels renders them), and every Backend made from
// it shares those programs; each
// Backend has its own in-order command queue and kernel objects, so several
// runs can train side by side on one device. Buffers are released by Free or
// Close, never by finalizers.
//
// Operations only enqueue: a training step never waits for the device. Write
// and Read are blocking transfers; Finish waits for the queue. OpenCL
// failures become sticky errors naming the call, the kernel and the status
// (clEnqueueNDRangeKernel(gemm_nt): CL_OUT_OF_RESOURCES), with a hint.
package opencl
