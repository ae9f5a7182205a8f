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

// New allocates n elements of kind and writes src into them unless src is
// nil or n is 0 (src then holds n elements of kind's Go type). An empty
// buffer gets one element, as OpenCL has no empty buffers, so that work on
// zero rows still has a buffer to name on every backend.
func (s *Buffers) New(kind Kind, n int, src any) Buffer {
	if s.err != nil {
		return nil
	}
	size := n
	if n == 0 {
		size = 1
	}
	b, err := s.be.Alloc(kind, size)
	if err != nil {
		s.err = err
		return nil
	}
	s.all = append(s.all, b)
	if src != nil && n > 0 {
		s.err = s.be.Write(b, 0, src)
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
