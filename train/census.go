package train

import (
	"fmt"
	"math"

	"github.com/regcl/regcl/device"
)

// BufferCensus counts the subnormal float32 values of one of a run's
// buffers: nonzero values below the smallest normal float32, 2⁻¹²⁶ ≈
// 1.18e-38. Arithmetic on them costs CPUs up to 100 cycles per operation
// (microcode assists), which is how a run slows down as it trains.
type BufferCensus struct {
	Name       string
	Len        int
	Subnormals int
}

// Census reads every float buffer of lane's run — parameters, gradients, Adam
// moments, BatchNorm statistics, the last step's activations and logits and
// their gradient — and counts the subnormals in each. It waits for the
// device; a measurement aid (regcl bench --denormals).
func (t *Trainer) Census(lane int) ([]BufferCensus, error) {
	var out []BufferCensus
	count := func(name string, b device.Buffer, off, n int) error {
		v := make([]float32, n)
		if err := t.be.Read(b, lane, off, v); err != nil {
			return fmt.Errorf("census of %s: %w", name, err)
		}
		c := BufferCensus{Name: name, Len: n}
		for _, x := range v {
			if x != 0 && math.Abs(float64(x)) < 0x1p-126 {
				c.Subnormals++
			}
		}
		out = append(out, c)
		return nil
	}
	for _, p := range t.Net.Tensors() {
		if err := count(p.Name, p.W, 0, p.Len()); err != nil {
			return nil, err
		}
		if p.G == nil {
			continue
		}
		for _, b := range []struct {
			what string
			buf  device.Buffer
			off  int
		}{{"gradient", p.G, 0}, {"adam m", t.Opt.M, p.Off}, {"adam v", t.Opt.V, p.Off}} {
			if err := count(p.Name+" "+b.what, b.buf, b.off, p.Len()); err != nil {
				return nil, err
			}
		}
	}
	rows := t.Cfg.BatchSize
	for i, b := range t.Net.HiddenOutputs() {
		if err := count(fmt.Sprintf("hidden%d activations", i+1), b, 0, rows*t.Cfg.Model.Hidden[i]); err != nil {
			return nil, err
		}
	}
	C := t.Cfg.Model.Classes
	if err := count("logits", t.Net.Logits(), 0, rows*C); err != nil {
		return nil, err
	}
	if err := count("logits gradient", t.Net.DLogits(), 0, rows*C); err != nil {
		return nil, err
	}
	return out, nil
}
