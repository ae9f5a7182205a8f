package opencl

import "fmt"

// Tuning holds the -D values the kernels are built with.
type Tuning struct {
	TSM, TSN, TSK, WPTM, WPTN int // gemm.cl tile sizes
	WGReduce                  int // work-group size of the reductions, a power of two
	WGElem                    int // work-group size of elementwise kernels
}

// TuningFor chooses tile sizes for a device.
func TuningFor(info Info) Tuning {
	t := Tuning{TSM: 64, TSN: 64, TSK: 16, WPTM: 4, WPTN: 4, WGReduce: 256, WGElem: 256}
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

// Options renders the tuning as build options.
func (t Tuning) Options() string {
	return fmt.Sprintf("-DTSM=%d -DTSN=%d -DTSK=%d -DWPTM=%d -DWPTN=%d -DWG_REDUCE=%d",
		t.TSM, t.TSN, t.TSK, t.WPTM, t.WPTN, t.WGReduce)
}
