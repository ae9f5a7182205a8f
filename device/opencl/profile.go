package opencl

import (
	"sort"
	"time"

	"github.com/regcl/regcl/device/opencl/cl"
)

// profile collects per-kernel device times from OpenCL profiling events.
type profile struct {
	pending []pendingEvent
	total   map[string]time.Duration
	count   map[string]int
}

type pendingEvent struct {
	name string
	ev   cl.Event
	rec  int // its launch's index in Backend.launches, or -1 when not recorded
}

func newProfile() *profile {
	return &profile{total: map[string]time.Duration{}, count: map[string]int{}}
}

func (p *profile) add(name string, ev cl.Event, rec int) {
	p.pending = append(p.pending, pendingEvent{name, ev, rec})
}

// collect reads the times of finished events (call after the queue
// finished) and gives each recorded launch its time (timed).
func (p *profile) collect(timed func(rec int, d time.Duration)) error {
	var first error
	for _, pe := range p.pending {
		_, _, start, end, err := pe.ev.ProfilingTimes()
		if err == nil && end >= start {
			d := time.Duration(end - start)
			p.total[pe.name] += d
			p.count[pe.name]++
			if pe.rec >= 0 {
				timed(pe.rec, d)
			}
		} else if first == nil {
			first = err
		}
		pe.ev.Release()
	}
	p.pending = p.pending[:0]
	return first
}

// unrecord detaches the pending events from their recorded launches.
func (p *profile) unrecord() {
	for i := range p.pending {
		p.pending[i].rec = -1
	}
}

func (p *profile) release() {
	for _, pe := range p.pending {
		pe.ev.Release()
	}
	p.pending = nil
}

// KernelTime is the accumulated device time of one kernel.
type KernelTime struct {
	Name     string
	Total    time.Duration
	Launches int
}

// KernelTimes returns the accumulated times, longest first, and resets them.
// It waits for the queue.
func (be *Backend) KernelTimes() ([]KernelTime, error) {
	if be.prof == nil {
		return nil, nil
	}
	if err := be.Finish(); err != nil {
		return nil, err
	}
	var out []KernelTime
	for n, t := range be.prof.total {
		out = append(out, KernelTime{n, t, be.prof.count[n]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Total > out[j].Total })
	be.prof.total, be.prof.count = map[string]time.Duration{}, map[string]int{}
	return out, nil
}

// SetArgCalls is the clSetKernelArg calls the backend has made so far, over
// all its kernels: an argument is set again only when its value changed
// since the kernel's last launch (cl.Kernel.SetArg), so in a steady loop
// of steps the calls a step makes are the host's cost of its arguments.
func (be *Backend) SetArgCalls() int {
	n := 0
	count := func(k *kern) {
		n += k.k.SetArgCalls()
		for _, o := range k.sites {
			n += o.SetArgCalls()
		}
	}
	for _, k := range be.k {
		count(k)
	}
	for _, ks := range be.gk {
		for _, k := range ks {
			count(k)
		}
	}
	return n
}
