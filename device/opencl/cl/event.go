package cl

import (
	"runtime"
	"unsafe"
)

// EnqueueNDRange enqueues k over the global work sizes, one to three
// dimensions, in work-groups of the local sizes. A nil local lets the
// driver choose; otherwise local must have as many dimensions as global,
// else the error has status CL_INVALID_WORK_DIMENSION. With wantEvent set
// it returns an Event, which the caller must release; otherwise the Event
// is the zero Event.
//
// The kernel's arguments are captured at this call: they may be changed for
// the next launch as soon as it returns.
func EnqueueNDRange(q *Queue, k *Kernel, global, local []int, wantEvent bool) (Event, error) {
	dims := len(global)
	if dims < 1 || dims > 3 || (local != nil && len(local) != dims) {
		return Event{}, &Error{Call: "clEnqueueNDRangeKernel", Object: k.name, Status: InvalidWorkDimension}
	}
	var g, l [3]uintptr
	for i := range dims {
		g[i] = uintptr(global[i])
		if local != nil {
			l[i] = uintptr(local[i])
		}
	}
	var ev uintptr
	var st int32
	switch {
	case local == nil && !wantEvent:
		st = int32(sys(lib.enqueueNDRangeKernel, q.h, k.h, uintptr(dims), 0, uintptr(unsafe.Pointer(&g[0])), 0, 0, 0, 0))
	case local == nil:
		st = int32(sys(lib.enqueueNDRangeKernel, q.h, k.h, uintptr(dims), 0, uintptr(unsafe.Pointer(&g[0])), 0, 0, 0, uintptr(unsafe.Pointer(&ev))))
	case !wantEvent:
		st = int32(sys(lib.enqueueNDRangeKernel, q.h, k.h, uintptr(dims), 0, uintptr(unsafe.Pointer(&g[0])), uintptr(unsafe.Pointer(&l[0])), 0, 0, 0))
	default:
		st = int32(sys(lib.enqueueNDRangeKernel, q.h, k.h, uintptr(dims), 0, uintptr(unsafe.Pointer(&g[0])), uintptr(unsafe.Pointer(&l[0])), 0, 0, uintptr(unsafe.Pointer(&ev))))
	}
	if st != Success {
		return Event{}, &Error{Call: "clEnqueueNDRangeKernel", Object: k.name, Status: st}
	}
	return Event{h: ev}, nil
}

// EnqueueMarker enqueues a marker (clEnqueueMarkerWithWaitList, OpenCL
// 1.2) and returns its event, which completes when every command queued
// before it has.
func EnqueueMarker(q *Queue) (Event, error) {
	var ev uintptr
	st := int32(sys(lib.enqueueMarker, q.h, 0, 0, uintptr(unsafe.Pointer(&ev))))
	if st != Success {
		return Event{}, &Error{Call: "clEnqueueMarkerWithWaitList", Status: st}
	}
	return Event{h: ev}, nil
}

// Event is an OpenCL event: the status of one enqueued command. The zero
// Event is no event; its methods do nothing. Release an event when done.
type Event struct{ h uintptr }

// IsZero reports whether e is the zero Event.
func (e Event) IsZero() bool { return e.h == 0 }

// Wait blocks until the event's command has completed.
func (e Event) Wait() error { return WaitForEvents(e) }

// WaitForEvents blocks until the commands of all non-zero events have
// completed (clWaitForEvents).
func WaitForEvents(events ...Event) error {
	hs := make([]uintptr, 0, len(events))
	for _, e := range events {
		if e.h != 0 {
			hs = append(hs, e.h)
		}
	}
	if len(hs) == 0 {
		return nil
	}
	st := int32(sys(lib.waitForEvents, uintptr(len(hs)), uintptr(unsafe.Pointer(&hs[0]))))
	runtime.KeepAlive(hs)
	return check(st, "clWaitForEvents", "")
}

// cl_profiling_info values.
const (
	profilingQueued = 0x1280
	profilingSubmit = 0x1281
	profilingStart  = 0x1282
	profilingEnd    = 0x1283
)

// ProfilingTimes returns the device times, in nanoseconds, at which the
// event's command was queued, submitted, started and ended. The command
// must have completed and its queue must have profiling enabled; otherwise
// the error has status CL_PROFILING_INFO_NOT_AVAILABLE.
func (e Event) ProfilingTimes() (queued, submit, start, end uint64, err error) {
	if e.h == 0 {
		return 0, 0, 0, 0, &Error{Call: "clGetEventProfilingInfo", Object: "zero Event", Status: InvalidEvent}
	}
	var t [4]uint64
	for i, param := range [4]uint32{profilingQueued, profilingSubmit, profilingStart, profilingEnd} {
		st := int32(sys(lib.getEventProfilingInfo, e.h, uintptr(param), 8, uintptr(unsafe.Pointer(&t[i])), 0))
		if err := check(st, "clGetEventProfilingInfo", ""); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	return t[0], t[1], t[2], t[3], nil
}

// Release releases the event. Releasing the zero Event does nothing; an
// Event is a value, so release each event once.
func (e Event) Release() error {
	if e.h == 0 {
		return nil
	}
	return check(int32(sys(lib.releaseEvent, e.h)), "clReleaseEvent", "")
}
