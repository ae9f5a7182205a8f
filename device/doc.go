// Package device defines the Backend interface that the training graph is written
// against, once, and the helpers that every backend shares.
//
// A Backend is one stream of work on one compute device: the gonum CPU backend
// (package device/cpu, the readable oracle) or an OpenCL command queue (package
// device/opencl). Buffers live on the device for a whole run; operations are
// enqueued and may run asynchronously; the host synchronises only when it reads
// a buffer back or calls Finish.
//
// Matrices are row-major and contiguous: a (R,C) matrix x holds x[r,c] at
// index r*C + c. Shapes in the documentation of each operation use that
// convention.
//
// Errors are sticky, as in bufio.Writer: the first failure of an enqueued
// operation (a device that runs out of memory, a lost device) is kept, later
// operations become no-ops, and Err or Finish report it. Allocation and host
// transfers return their errors directly. Shapes are the caller's contract,
// not input: the graph in package model derives them from a validated
// configuration, and a backend may panic on a shape that breaks it.
//
// # Scalars and precision
//
// Every scalar argument is a float64. A backend rounds it once to the
// precision it computes in, and derives constants such as 1−β2 in float64
// before rounding them (1−float32(0.999) is off by 1.3e-5), so that the CPU
// backend's float64 mode is a float64 computation throughout: the oracle
// that testdata/golden pins to an independent implementation.
//
// # Denormal floats
//
// Every backend flushes subnormal floats (|x| < 2⁻¹²⁶) to zero. An
// operation on a subnormal costs an x86 CPU up to 100 cycles, and a run
// breeds them as it trains: regcl bench --denormals counts them per buffer,
// and before flushing it found, after 20 epochs on PoCL, 29,000 of l2's
// 200,704 first-layer weights subnormal (an L2 penalty decays the weights of
// pixels that are 0 in every image) and as many Adam moments, 8,000 to 15,000
// first moments in the other presets (gradients that stay 0), BatchNorm
// moving statistics of dead units and softmax probabilities below e⁻⁸⁷; l2's
// epochs grew from 0.7 s to 2.5 s. Nothing in the network needs values that
// small. So AdamStep, BatchNormTrain's moving statistics and SoftmaxXent's
// gradient flush their subnormal results, on every backend (the conformance
// suite checks it, FlushTest), and OpenCL programs are built with
// -cl-denorms-are-zero where the device accepts it, which flushes every
// kernel's inputs and results on devices that honour it (PoCL does).
package device
