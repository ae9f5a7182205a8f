// Package kernels holds regcl's OpenCL C sources, embedded into the binary.
// Nothing else lives here: device/opencl builds them, and device/cpu is their
// readable Go twin.
//
// Source concatenates the files in dependency order into one program. Each
// file opens with a banner naming its kernels and their size assumptions;
// tuning values have #ifndef defaults and are overridden with -D build
// options.
package kernels
