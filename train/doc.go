// Package train is the engine of runs: the epoch loop with Keras's
// validation split and per-epoch reshuffle, the Adam optimizer with the L1/L2
// penalty gradients fused into its step, Keras-style epoch metrics, the one
// evaluator, checkpoints, and the run's record (Result).
//
// A run's identity is structured: NewConfig applies typed Overrides to a
// preset, keeping only what differs from the preset's values; Label writes
// them in one fixed order, for display only; ID is a hash of the settings
// that change the result and the seed, never of the label. Run trains one
// configuration and writes the files Options.Files names; package study
// decides those names and runs many configurations.
//
// The evaluator runs the network in inference mode in chunks on the device:
// loss (cross-entropy plus the penalty) and accuracy come from the device's
// accumulators, and only when asked are the rows' logits read back, for
// per-class accuracy, the confusion matrix and predicted probabilities. The
// test and validation figures of training, `regcl eval` and `regcl predict`
// all go through it.
//
// A step is enqueued on the device without any host round-trip: the host
// sends each epoch's permutation once and reads back a few accumulated
// scalars at the epoch's end.
//
// Runs train in groups, as the lanes of one device.Backend (JAX's vmap
// over stacked models): runs of one GroupKey (network shape, batch size,
// epochs, train size, split) at one Position share every launch, while
// each lane keeps its own seed (initialization, shuffle, dropout masks),
// penalties, dropout rate and learning rate on the device (SetLanes), its
// own history and checkpoint file, and stops alone when it diverges. A
// lane's results are bit-identical to its run trained alone; one run is a
// group of one lane (Run is RunGroup of one), one code path. The images
// and labels are uploaded once per device (UploadData) into shared buffers
// that every group's backend reads.
//
// Rehearse sets a group up over placeholder data (nothing uploaded) so
// that its step and its evaluator can be driven once on a described device
// (opencl.Describe), whose backend records the launches: `regcl plan`
// reads a step off the code that trains.
package train
