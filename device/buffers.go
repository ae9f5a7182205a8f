package device

// Buffers is a set of buffers on one backend, allocated one after another
// and freed together. The first failure sticks: later calls to New return
// nil and do nothing, so that a run of allocations is checked once, with Err.
type Buffers struct {
	be  Backend
	all []Buffer
	err error
}

// NewBuffers starts an empty set on be.
func NewBuffers(be Backend) *Buffers { return &Buffers{be: be} }

// New allocates a per-lane buffer of n elements a lane and writes src into
// every lane's part unless src is nil or n is 0 (src then holds n elements
// of a Go type Backend.Write takes for kind). An empty buffer gets one
// element, as OpenCL has no empty buffers, so that work on zero rows still
// has a buffer to name on every backend.
func (s *Buffers) New(kind Kind, n int, src any) Buffer {
	return s.alloc(kind, n, src, false)
}

// NewShared is New for a buffer that every lane reads (AllocShared).
func (s *Buffers) NewShared(kind Kind, n int, src any) Buffer {
	return s.alloc(kind, n, src, true)
}

func (s *Buffers) alloc(kind Kind, n int, src any, shared bool) Buffer {
	if s.err != nil {
		return nil
	}
	size := n
	if n == 0 {
		size = 1
	}
	var b Buffer
	var err error
	lanes := 1
	if shared {
		b, err = s.be.AllocShared(kind, size)
	} else {
		b, err = s.be.Alloc(kind, size)
		lanes = s.be.Lanes()
	}
	if err != nil {
		s.err = err
		return nil
	}
	s.all = append(s.all, b)
	for l := 0; l < lanes && src != nil && n > 0 && s.err == nil; l++ {
		s.err = s.be.Write(b, l, 0, src)
	}
	return b
}

// Err is the first allocation or write that failed, or nil.
func (s *Buffers) Err() error { return s.err }

// Free releases every buffer of the set; the set is then empty, and may be
// freed again.
func (s *Buffers) Free() {
	for _, b := range s.all {
		s.be.Free(b)
	}
	s.all = nil
}
