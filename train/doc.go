// Package train runs the study: the epoch loop with Keras's validation split
// and per-epoch reshuffle, the Adam optimizer with the L1/L2 penalty gradients
// fused into its step, Keras-style epoch metrics, run records and the results
// CSV, and checkpoints.
//
// A step is enqueued on the device without any host round-trip: the host
// sends each epoch's permutation once and reads back a few accumulated
// scalars at the epoch's end.
package train
