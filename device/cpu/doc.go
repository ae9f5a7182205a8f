// Package cpu is the readable CPU backend: every operation of device.Backend
// written out plainly in Go, with matrix products through gonum's BLAS.
//
// It is the twin of the OpenCL kernels in kernels/*.cl and the oracle they are
// tested against. New[float32] is the production fallback where no OpenCL
// device exists; New[float64] runs the same training graph in double
// precision for gradient checks and as the reference in agreement tests.
//
// A backend of L lanes (New[T](L), Device.NewBackend(L)) holds each per-lane
// buffer as L parts, each on a 64-byte boundary, and runs an operation's
// lanes on parallel goroutines (at most GOMAXPROCS), each lane's part
// computed by the same code as for one lane: a lane's results are
// bit-identical whatever the number of lanes.
//
// Every reduction runs in a fixed order, so a run is bit-for-bit reproducible:
// the same seed gives the same weights on every run.
package cpu
