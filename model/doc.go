// Package model holds the study's network: its configuration and the five
// presets of the reference study plus an unregularized baseline, Glorot
// initialization, and the forward and backward passes written once against
// device.Backend.
//
// The network is Dense(In→H1, ReLU) → [BatchNorm] → [Dropout] → … →
// Dense(Hn→Classes) with softmax cross-entropy on the logits. BatchNorm and
// Dropout sit after the ReLU of each hidden layer, as in the Keras study.
// L1/L2 penalties apply to the hidden kernels only: not to biases, BatchNorm
// parameters or the output layer.
//
// A Net holds one network per lane of its backend: the lanes share the
// shape and differ in their weights and regularization, whose rates reach
// the device as the backend's lane parameters; every pass runs every lane.
package model
