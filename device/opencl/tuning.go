package opencl

import (
	"fmt"
	"strings"
)

// Tuning holds the -D values the kernels are built with.
type Tuning struct {
	CPU                       bool // gemm.cl's CPU variant (GEMM_CPU=1): register blocks, no local memory
	MR                        int  // rows of its block of C per work-item (columns: cpuNR)
	TSM, TSN, TSK, WPTM, WPTN int  // the GPU variant's tile sizes
	WGReduce                  int  // work-group size of the reductions, a power of two
	WGElem                    int  // work-group size of elementwise kernels
	Vec                       int  // elements (columns) per work-item of elementwise and column kernels
}

// TuningFor chooses the kernels' variant and sizes for a device: the CPU
// variant for CPU devices (PoCL), the GPU variant for everything else.
func TuningFor(info Info) Tuning {
	return ForDevice(info, !info.IsGPU() && strings.Contains(info.Type, "CPU"))
}

// ForDevice is the tuning of the CPU variant (cpu set) or the GPU variant,
// within the device's work-group limit. Tests build the GPU variant on PoCL
// with it, so that its code is checked where no GPU is.
func ForDevice(info Info, cpu bool) Tuning {
	t := Tuning{TSM: 64, TSN: 64, TSK: 16, WPTM: 4, WPTN: 4, WGReduce: 256, WGElem: 256, MR: 6}
	t.CPU = cpu
	t.Vec = 1
	if t.CPU {
		t.Vec = 8 // one AVX register; measured 3.6× faster than VEC=1 for adam on PoCL
		t.WGElem = 64
	}
	for t.WGReduce > info.MaxWorkGroupSize && t.WGReduce > 1 {
		t.WGReduce /= 2
	}
	t.WGElem = min(t.WGElem, info.MaxWorkGroupSize)
	for (t.TSM/t.WPTM)*(t.TSN/t.WPTN) > info.MaxWorkGroupSize && t.TSM > 8 {
		t.TSM /= 2
		t.TSN /= 2
	}
	return t
}

// Block shapes fixed in gemm.cl's CPU variant: NR columns per register
// block, and gemm_nt's NT_MR × NT_NR block of dot products.
const (
	cpuNR      = 16
	ntMR, ntNR = 3, 4
)

// Options renders the tuning as build options.
func (t Tuning) Options() string {
	cpu := 0
	if t.CPU {
		cpu = 1
	}
	return fmt.Sprintf("-DGEMM_CPU=%d -DMR=%d -DTSM=%d -DTSN=%d -DTSK=%d -DWPTM=%d -DWPTN=%d -DWG_REDUCE=%d -DVEC=%d",
		cpu, t.MR, t.TSM, t.TSN, t.TSK, t.WPTM, t.WPTN, t.WGReduce, t.Vec)
}
