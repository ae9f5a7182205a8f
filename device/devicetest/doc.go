// Package devicetest is a conformance suite for implementations of
// device.Backend, in the manner of gonum's testblas: every operation of the
// interface has an exported test function that takes a *testing.T and a
// Factory making backends under test,
//
//	type Factory func(lanes int) (device.Backend, error)
//
// (a Device's NewBackend is one), and Run runs them all. A backend's own
// tests run the whole suite in one line:
//
//	func TestConformance(t *testing.T) {
//		devicetest.Run(t, func(lanes int) (device.Backend, error) { return cpu.New[float32](lanes), nil })
//	}
//
// or single operations, as devicetest.GemmTest(t, d.NewBackend).
//
// The suite uses the backend only through the device.Backend interface
// (Alloc, Write, Read, the operations, Finish and Err), never by type
// assertion, so it runs unchanged on backends with opaque device buffers.
// Each test function makes one backend for each lane count it runs at with
// the Factory, runs its cases as subtests named by operation, shape, variant
// and lane count (for example Gemm/m128_n256_k784/L2/TN/alpha2.5_beta0.5),
// frees the buffers of each subtest and checks that Finish and Err return
// nil after it, and closes the backends at the end.
//
// # Lanes
//
// Every case runs at 1 and 2 lanes, at 3 when its work per lane is at most
// 2²¹ (elements, or multiply-adds of a product) and at 18 when at most 2¹⁵
// (LaneCounts), so that every operation meets every lane count on its
// smaller shapes while the suite takes about twice a one-lane suite's time.
// Every lane gets its own random inputs and its own LaneParams (random
// seeds; dropout rates, L1 and L2 penalties and learning rates that differ
// between neighbouring lanes and include 0, see tcase.params), and every
// lane's results are checked against the float64 reference computed from
// that lane's inputs and parameters. Integer inputs (GatherRows' source and
// indices, SoftmaxXent's labels and indices) run both shared (AllocShared)
// and per lane. LaneIndependenceTest checks that a lane's results do not
// depend on the other lanes: a small network's training step calling every
// operation runs on backends of 2, 3 and 18 lanes and then, lane by lane,
// on a backend of one lane, and every buffer must agree bit for bit.
// SharedAcrossBackendsTest checks that a shared buffer of one backend
// serves another backend of the same device.
//
// # References
//
// Every expected result is computed inside this package in float64 by plain
// loops written from the interface's documentation (gonum's Dgemm for the
// matrix products, on operands transposed by explicit index arithmetic),
// from the same float32 inputs the backend receives. No backend's code is
// used as a reference. The dropout mask is the one exception by design:
// device.Dropout.Keep and Bits are the specification of the mask, and the
// suite uses them.
//
// # Inputs and shapes
//
// Inputs are random and fresh on every run, never all zeros. Each test logs
// its seed; running the same test or subtest again with the environment
// variable DEVICETEST_SEED set to it reproduces the inputs exactly (every
// subtest derives its random source from the seed and its own name).
//
// Shapes are 1, 7, 33, 129 and 784 — no multiple of any tile or vector
// width — and those of the study: the network 784→256→128→10, batches of 128
// and a last batch of 112, with the backward pass's shapes. Gemm runs every
// transpose combination (NN, NT, TN, TT) over each shape, with beta = 0 and
// with alpha ≠ 1 and beta ≠ 0.
//
// # Guards
//
// Every float buffer is allocated longer than its logical size (so a backend
// must take sizes from the shape arguments, never from Buffer.Len): each
// lane's logical part is followed by a tail of as many elements again plus a
// few. Outputs are filled with NaN in every lane before the operation, so an
// element it fails to write is caught, and every lane's tail with a sentinel
// value that must survive, so a write past the end of a lane's part (into
// the next lane's) is caught. Inputs have NaN tails, so an operation that
// reads past the end of an input poisons its result, and inputs must be
// unchanged afterwards. Gemm with beta = 0 runs on a NaN-filled C, which it
// must not read.
//
// # Tolerance
//
// Results that round are compared by the relative error ‖out − ref‖₂/‖ref‖₂
// ≤ Tolerance = 1e-5. A float32 sum of k terms of random sign is off by
// about 2⁻²⁴·√k of its size, about 1e-6 for the longest sums here (k = 784),
// so 1e-5 leaves headroom for any summation order or fused multiply-add,
// while an indexing error, a skipped column or an unwritten element gives an
// O(1) error in some element, at least 1/√N ≥ 2e-3 relative for the N ≤
// 200704 elements of any output of the suite.
//
// Where a result is a sum whose terms can cancel to near zero (a column sum
// or batch mean of one column, a Gemm with m = n = 1 and beta ≠ 0, the Adam
// moments, the batch-norm gradients, a softmax loss that a wide margin makes
// tiny), the error is measured relative to the same expression evaluated on
// the terms' absolute values instead, the usual bound for rounding error in
// a sum; without that, a valid float32 backend would fail at random.
//
// Operations that are exact are compared exactly: Fill; GatherRows, whose
// result must be the correctly rounded quotient float32(byte)/255 (a backend
// that multiplies by float32(1/255) instead is off by one ulp for 126 of
// the 256 byte values); the dropout masks and the kept values x·scale of
// DropoutApply, with the scale DropoutScale(rate) rounded to the backend's
// precision (FloatBits); ReLUBackwardColSum's dx (one multiplication per
// element); the correct count of SoftmaxXent; a lane without penalties,
// whose accumulator PenaltySum must not touch; and Write/Read round trips,
// bit for bit.
//
// BatchNormTrain also runs on inputs whose column means are 30 times their
// spread, where a one-pass float32 variance E[x²] − E[x]² fails; a two-pass
// or Welford variance passes.
//
// # Comparing backends
//
// Masks returns the dropout mask a backend draws for a device.Mask (it sets
// the backend's lane parameters to draw it), so that two backends' masks can
// be compared bit for bit.
//
// # Testing the suite
//
// The package's own TestSuiteCatchesBugs runs parts of the suite on the
// float32 CPU backend with one deliberate bug at a time (Gemm ignoring beta
// or transB or reading C when beta is 0, writes past an output's end or
// into an input, a skipped last column, a shifted or column-major dropout
// mask, an accumulator overwritten instead of added to, the last maximum
// winning the argmax, sign(0) = 1 in Adam, an unbiased or one-pass
// variance, and more) and bugs that only several lanes show (lane 0's
// dropout seed and rate, learning rate or penalties used in every lane, a
// write into the next lane's part, lane 0's indices gathered in every lane,
// the last lane skipped, a bad step set in every lane, Write to the wrong
// lane, Fill of lane 0 only, and a result that depends on the lane count
// by one ulp), and checks that each makes the suite fail.
package devicetest
