package kernels

import "embed"

// files holds every OpenCL C source; the Programs of contract.go say which
// files each program is built from.
//
//go:embed *.cl
var files embed.FS
