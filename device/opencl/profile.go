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
}

func newProfile() *profile {
	return &profile{total: map[string]time.Duration{}, count: map[string]int{}}
}

func (p *profile) add(name string, ev cl.Event) {
	p.pending = append(p.pending, pendingEvent{name, ev})
}

// collect reads the times of finished events (call after the queue finished).
func (p *profile) collect() error {
	var first error
	for _, pe := range p.pending {
		_, _, start, end, err := pe.ev.ProfilingTimes()
		if err == nil && end >= start {
			p.total[pe.name] += time.Duration(end - start)
			p.count[pe.name]++
		} else if first == nil {
			first = err
		}
		pe.ev.Release()
	}
	p.pending = p.pending[:0]
	return first
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
