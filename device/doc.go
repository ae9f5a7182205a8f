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
package device
