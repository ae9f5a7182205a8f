// Package devices chooses and opens a compute device from a user's
// --device spec: "auto" (an OpenCL GPU, else an OpenCL CPU device, else the
// gonum CPU backend), "opencl" (the first OpenCL device), "opencl:P:D"
// (platform P, device D, as `regcl devices` numbers them) or "cpu".
package devices
