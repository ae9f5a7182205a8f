// Package tuner searches the kernel contract's parameter spaces on one
// OpenCL device for the settings that run a network's products and
// elementwise kernels fastest (CLBlast's tuner and database, tinygrad's
// BEAM search). Every candidate is first checked against the float64 CPU
// oracle (device/cpu in float64) on fresh random inputs, at the conformance
// suite's tolerance; a candidate that fails to build or disagrees is
// dropped and counted, never timed, so a tuning can never make a result
// wrong. The products are the network's (Options.Shapes, from
// model.Products); the elementwise and reduction kernels are timed on one
// training step's worth of them at the network's sizes (Options.Net, from
// NetOf: the batch, the layer widths and model.Sizes). What it finds is
// written as a tuning file (opencl.WriteTuning).
package tuner
