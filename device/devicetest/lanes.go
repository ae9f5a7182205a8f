package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
)

// ViewTest checks View in every lane: a view aliases [off, off+n) of each
// lane's part of its parent (a write through either is read through the
// other), operations on a view (Fill, Gemm) change that range of every lane
// and nothing else of the parent, and a view out of range, of a shared or
// of an integer buffer, or at an offset off the ViewAlign grid is refused.
func ViewTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	h.run("alias", 2000, func(c *tcase) {
		va := c.be.ViewAlign()
		if va < 1 {
			c.t.Fatalf("ViewAlign() = %d, want ≥ 1", va)
		}
		const m, n, k = 7, 5, 3
		off := va * (1 + c.rng.IntN(3))
		size := off + m*n + va + 11
		parent := c.inOut("parent", c.lanesOf(func() []float32 { return c.normal(size, 0, 1) }))
		v, err := c.be.View(parent.buf, off, m*n)
		if err != nil {
			c.t.Fatalf("View(off=%d, n=%d) of a buffer of %d: %v", off, m*n, parent.n, err)
		}
		if v.Len() != m*n || v.Kind() != device.Float || v.Shared() {
			c.t.Fatalf("View: Len %d, Kind %v, Shared %v; want %d, float, false", v.Len(), v.Kind(), v.Shared(), m*n)
		}
		defer c.be.Free(v)
		// Read through the view what the parent holds.
		for l := 0; l < c.lanes; l++ {
			got := make([]float32, m*n)
			c.read(v, l, 0, got)
			c.exact(c.at(l, "read through the view"), got, parent.vals[l][off:off+m*n])
		}
		// Fill through the view, then a product into it; the parent sees
		// both in that range only.
		c.be.Fill(v, m*n, 2.5)
		for l := 0; l < c.lanes; l++ {
			copy(parent.vals[l][off:], fill(m*n, 2.5))
			c.exact(c.at(l, "parent after Fill of the view"), c.get(parent, l), parent.vals[l])
		}
		a := c.in("A", c.lanesOf(func() []float32 { return c.uniform(m*k, -1, 1) }))
		b := c.in("B", c.lanesOf(func() []float32 { return c.uniform(k*n, -1, 1) }))
		c.be.Gemm(false, false, m, n, k, 1, a.buf, b.buf, 0.5, v)
		for l := 0; l < c.lanes; l++ {
			got := c.get(parent, l)
			want := gemmRef(false, false, m, n, k, 1, a.vals[l], b.vals[l], 0.5, fill(m*n, 2.5))
			c.near(c.at(l, "Gemm into the view"), got[off:off+m*n], want)
			c.exact(c.at(l, "parent before the view"), got[:off], parent.vals[l][:off])
			c.exact(c.at(l, "parent after the view"), got[off+m*n:], parent.vals[l][off+m*n:])
		}
		// Write through the view, read through the parent.
		for l := 0; l < c.lanes; l++ {
			w := c.uniform(m*n, -3, 3)
			c.write(v, l, 0, w)
			got := c.get(parent, l)
			c.exact(c.at(l, "parent after a write through the view"), got[off:off+m*n], w)
		}
		c.guards(a, b, parent)
	})
	h.run("refused", 100, func(c *tcase) {
		va := c.be.ViewAlign()
		n := 4 * va
		p := c.alloc(device.Float, n)
		sh := c.allocOn(device.Float, n, true)
		ib := c.alloc(device.Int32, n)
		for _, tc := range []struct {
			what   string
			parent device.Buffer
			off, n int
		}{
			{"past the end", p, va, n},
			{"a negative offset", p, -va, 1},
			{"a shared parent", sh, 0, 1},
			{"an Int32 parent", ib, 0, 1},
		} {
			if v, err := c.be.View(tc.parent, tc.off, tc.n); err == nil {
				c.be.Free(v)
				c.t.Errorf("View of %s (off %d, n %d): no error", tc.what, tc.off, tc.n)
			}
		}
		if va > 1 {
			if v, err := c.be.View(p, 1, 1); err == nil {
				c.be.Free(v)
				c.t.Errorf("View at offset 1 with ViewAlign %d: no error", va)
			}
		}
	})
}

// SharedAcrossBackendsTest checks that a shared buffer one backend of a
// device allocates serves another backend of it (of another lane count) as
// the source of GatherRows and the labels of SoftmaxXent.
func SharedAcrossBackendsTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, pair := range [][2]int{{3, 1}, {1, 2}} {
		h.runLanes(fmt.Sprintf("from%d", pair[0]), pair[1], func(c *tcase) {
			owner := h.backend(c.t, pair[0])
			const rows, cols, nsrc = 7, 33, 20
			src := c.bytes(nsrc * cols)
			labels := make([]uint8, nsrc)
			for i := range labels {
				labels[i] = uint8(c.rng.IntN(10))
			}
			sb, err := owner.AllocShared(device.Uint8, nsrc*cols)
			if err != nil {
				c.t.Fatalf("AllocShared on the owner: %v", err)
			}
			lb, err := owner.AllocShared(device.Uint8, nsrc)
			if err != nil {
				c.t.Fatalf("AllocShared on the owner: %v", err)
			}
			defer func() {
				c.finish() // the borrower's work on them is done before the owner frees them
				owner.Free(sb)
				owner.Free(lb)
			}()
			if err := owner.Write(sb, 0, 0, src); err != nil {
				c.t.Fatal(err)
			}
			if err := owner.Write(lb, 0, 0, labels); err != nil {
				c.t.Fatal(err)
			}
			if err := owner.Finish(); err != nil {
				c.t.Fatal(err)
			}
			perms := lanesOf(c, func() []int32 { return c.perm(nsrc) })
			idx := c.int32sIn(perms, false)
			dst := c.out("dst", rows*cols)
			c.be.GatherRows(dst.buf, sb, idx, 2, rows, cols)
			logits := c.in("logits", c.lanesOf(func() []float32 { return c.normal(rows*10, 0, 2) }))
			acc := c.inOut("acc", c.lanesOf(func() []float32 { return []float32{0, 0, -1, sentinel} }))
			c.be.SoftmaxXent(nil, nil, logits.buf, lb, idx, 2, rows, 10, 1, acc.buf, nil, 3)
			for l := 0; l < c.lanes; l++ {
				want := make([]float32, rows*cols)
				for r := 0; r < rows; r++ {
					i := int(perms[l][2+r])
					for j := 0; j < cols; j++ {
						want[r*cols+j] = float32(float64(src[i*cols+j]) / 255)
					}
				}
				c.exact(c.at(l, "GatherRows from another backend's shared buffer"), c.get(dst, l), want)
				in := &xentInputs{rows: rows, classes: 10, idxOff: 2, logits: logits.vals[l], labels: labels, idx: perms[l]}
				c.checkAcc(c.at(l, "SoftmaxXent with another backend's shared labels"), c.get(acc, l), acc.vals[l], xentRef(in, 1))
			}
			c.guards(dst, logits, acc)
		})
	}
}

// SetLanesTest checks that SetLanes refuses a wrong count of parameters,
// dropout rates outside [0, 1), and negative or non-finite penalties and
// learning rates, and accepts rates of 0 and just below 1.
func SetLanesTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	h.run("checks", 1, func(c *tcase) {
		ok := c.params(0)
		ok[c.lanes-1].DropoutRate = 0.999
		if err := c.be.SetLanes(ok); err != nil {
			c.t.Errorf("SetLanes(%+v): %v", ok, err)
		}
		if err := c.be.SetLanes(append(c.params(0), device.LaneParams{})); err == nil {
			c.t.Errorf("SetLanes with %d parameters for %d lanes: no error", c.lanes+1, c.lanes)
		}
		if err := c.be.SetLanes(nil); err == nil {
			c.t.Errorf("SetLanes(nil): no error")
		}
		bad := []func(*device.LaneParams){
			func(p *device.LaneParams) { p.DropoutRate = 1 },
			func(p *device.LaneParams) { p.DropoutRate = -0.1 },
			func(p *device.LaneParams) { p.DropoutRate = math.NaN() },
			func(p *device.LaneParams) { p.L1 = -1e-3 },
			func(p *device.LaneParams) { p.L2 = math.Inf(1) },
			func(p *device.LaneParams) { p.LR = math.NaN() },
			func(p *device.LaneParams) { p.LR = -1e-3 },
		}
		for i, f := range bad {
			p := c.params(0)
			f(&p[c.lanes-1])
			if err := c.be.SetLanes(p); err == nil {
				c.t.Errorf("bad parameters %d in the last lane, %+v: no error", i, p[c.lanes-1])
			}
		}
	})
}

// LaneIndependenceTest checks that a lane's results do not depend on the
// other lanes or on their number: a small network's training step, which
// calls every operation (Fill, GatherRows, Gemm in every transpose,
// GemmBiasAct with and without ReLU and dropout, BatchNormTrain, Infer and
// Backward, SoftmaxXent, ColSum, DropoutApply, ReLUBackwardColSum,
// PenaltySum, AdamStep, on views of one parameter buffer as a network
// holds them), runs on a backend of L lanes, every lane with its own inputs
// and parameters, and then on a backend of one lane for each lane alone;
// every buffer of lane l must be bit for bit the same in both.
func LaneIndependenceTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, lanes := range LaneCounts[1:] {
		h.runLanes("step", lanes, func(c *tcase) {
			one := h.backend(c.t, 1)
			p := c.params(0)
			c.setParams(p)
			net := newStepNet(c)
			img, err := c.be.AllocShared(device.Uint8, len(net.img))
			if err != nil {
				c.t.Fatal(err)
			}
			c.bufs = append(c.bufs, img)
			lab, err := c.be.AllocShared(device.Uint8, len(net.lab))
			if err != nil {
				c.t.Fatal(err)
			}
			c.bufs = append(c.bufs, lab)
			c.write(img, 0, 0, net.img)
			c.write(lab, 0, 0, net.lab)
			all := net.run(c, c.be, net.lanes, img, lab)
			for l := 0; l < c.lanes; l++ {
				if err := one.SetLanes(p[l : l+1]); err != nil {
					c.t.Fatal(err)
				}
				alone := net.run(c, one, net.lanes[l:l+1], img, lab)
				for _, name := range net.order {
					a, b := all[name][l], alone[name][0]
					for i := range a {
						if math.Float64bits(a[i]) != math.Float64bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
							c.t.Errorf("%s: buffer %s element %d is %v with %d lanes, %v alone (%+v)", c.at(l, ""), name, i, a[i], c.lanes, b[i], p[l])
							break
						}
					}
				}
			}
			if err := one.Finish(); err != nil {
				c.t.Fatal(err)
			}
		})
	}
}

// stepNet is LaneIndependenceTest's network: in → hid (ReLU, dropout,
// batch norm) → out, trained on a batch of rows images.
type stepNet struct {
	rows, in, hid, out, idxOff int
	img, lab                   []uint8
	lanes                      []stepLane
	order                      []string          // the per-lane Float buffers compared, in order
	sizes                      map[string]int    // their lengths
	offs                       map[string][2]int // views of "P" and "G": offset and length
}

// stepLane is one lane's initial contents.
type stepLane struct {
	idx []int32
	f   map[string][]float32
}

func newStepNet(c *tcase) *stepNet {
	n := &stepNet{rows: 7, in: 33, hid: 17, out: 10, idxOff: 3}
	const images = 40
	n.img, n.lab = c.bytes(images*n.in), make([]uint8, images)
	for i := range n.lab {
		n.lab[i] = uint8(c.rng.IntN(n.out))
	}
	// The parameters P (and gradients G, moments M and V) hold W1, b1, W2,
	// b2, gamma, beta one after another, each at a multiple of ViewAlign.
	va := c.be.ViewAlign()
	n.offs = map[string][2]int{}
	at := 0
	for _, v := range []struct {
		name string
		len  int
	}{{"W1", n.in * n.hid}, {"W2", n.hid * n.out}, {"b1", n.hid}, {"b2", n.out}, {"gamma", n.hid}, {"beta", n.hid}} {
		n.offs[v.name] = [2]int{at, v.len}
		at = (at + v.len + va - 1) / va * va
	}
	np := at
	r, hd := n.rows, n.hid
	n.sizes = map[string]int{
		"P": np, "G": np, "M": np, "V": np,
		"x": r * n.in, "h1": r * hd, "y1": r * hd, "z1": r * hd, "mean": hd, "invstd": hd, "movMean": hd, "movVar": hd,
		"logits": r * n.out, "dl": r * n.out, "dy1": r * hd, "dd": r * hd, "dh1": r * hd, "acc": device.AccLen, "tt": n.in * hd,
	}
	n.order = []string{"x", "h1", "y1", "z1", "mean", "invstd", "movMean", "movVar", "logits", "dl", "dy1", "dd", "dh1", "acc", "tt", "P", "G", "M", "V"}
	for range c.lanes {
		ln := stepLane{idx: c.perm(images), f: map[string][]float32{}}
		for _, name := range n.order {
			ln.f[name] = fill(n.sizes[name], nan32) // outputs are poisoned
		}
		ln.f["P"] = c.normal(np, 0, 0.3)
		ln.f["M"] = c.normal(np, 0, 0.01)
		ln.f["V"] = c.uniform(np, 1e-6, 1e-3)
		ln.f["movMean"] = c.normal(hd, 0, 1)
		ln.f["movVar"] = c.uniform(hd, 0.5, 2)
		ln.f["tt"] = c.normal(n.in*hd, 0, 1)
		ln.f["acc"] = []float32{0, 0, -1, 0}
		n.lanes = append(n.lanes, ln)
	}
	return n
}

// run runs the step on be, whose lanes hold lanes' contents, and returns
// every compared buffer of every lane, read as float64.
func (n *stepNet) run(c *tcase, be device.Backend, lanes []stepLane, img, lab device.Buffer) map[string][][]float64 {
	c.t.Helper()
	var bufs []device.Buffer
	defer func() {
		for i := len(bufs) - 1; i >= 0; i-- {
			be.Free(bufs[i])
		}
	}()
	alloc := func(kind device.Kind, size int) device.Buffer {
		b, err := be.Alloc(kind, size)
		if err != nil {
			c.t.Fatalf("Alloc: %v", err)
		}
		bufs = append(bufs, b)
		return b
	}
	write := func(b device.Buffer, l int, src any) {
		if err := be.Write(b, l, 0, src); err != nil {
			c.t.Fatalf("Write: %v", err)
		}
	}
	b := map[string]device.Buffer{}
	for _, name := range n.order {
		b[name] = alloc(device.Float, n.sizes[name])
		for l, ln := range lanes {
			write(b[name], l, ln.f[name])
		}
	}
	idx := alloc(device.Int32, len(lanes[0].idx))
	for l, ln := range lanes {
		write(idx, l, ln.idx)
	}
	view := func(parent, name string) device.Buffer {
		o := n.offs[name]
		v, err := be.View(b[parent], o[0], o[1])
		if err != nil {
			c.t.Fatalf("View %s of %s: %v", name, parent, err)
		}
		bufs = append(bufs, v)
		return v
	}
	W1, W2, b1, b2, gamma, beta := view("P", "W1"), view("P", "W2"), view("P", "b1"), view("P", "b2"), view("P", "gamma"), view("P", "beta")
	gW1, gW2, gb1, gb2, ggamma, gbeta := view("G", "W1"), view("G", "W2"), view("G", "b1"), view("G", "b2"), view("G", "gamma"), view("G", "beta")
	r, in, hd, out := n.rows, n.in, n.hid, n.out
	const step = 1<<32 + 12345
	be.Fill(b["G"], n.sizes["G"], 0)
	be.GatherRows(b["x"], img, idx, n.idxOff, r, in)
	be.GemmBiasAct(r, hd, in, b["x"], W1, b1, true, device.Dropout{On: true, Step: step, Layer: 0}, b["h1"])
	be.BatchNormTrain(b["y1"], b["h1"], gamma, beta, b["mean"], b["invstd"], b["movMean"], b["movVar"], r, hd, 1e-3, 0.99)
	be.BatchNormInfer(b["z1"], b["h1"], gamma, beta, b["movMean"], b["movVar"], r, hd, 1e-3)
	be.GemmBiasAct(r, out, hd, b["y1"], W2, b2, false, device.Dropout{}, b["logits"])
	be.SoftmaxXent(b["dl"], nil, b["logits"], lab, idx, n.idxOff, r, out, 1/float64(r), b["acc"], nil, 5)
	be.Gemm(true, false, hd, out, r, 1, b["y1"], b["dl"], 0, gW2)
	be.ColSum(gb2, b["dl"], r, out) // (SoftmaxXent's own dbias is the conformance suite's, at every lane count)
	be.Gemm(false, true, r, hd, out, 1, b["dl"], W2, 0, b["dy1"])
	be.Fill(b["dd"], r*hd, 0)
	be.Gemm(false, false, r, hd, hd, 1, b["y1"], view("P", "W1"), 0.5, b["dd"]) // W1's first hid·hid elements as a (hid, hid) matrix
	be.DropoutApply(b["dd"], r, hd, device.Dropout{On: true, Step: step, Layer: 1})
	be.BatchNormBackward(b["dh1"], b["dy1"], b["h1"], gamma, b["mean"], b["invstd"], ggamma, gbeta, nil, r, hd)
	be.ReLUBackwardColSum(b["dh1"], b["h1"], gb1, r, hd, true)
	be.Gemm(true, false, in, hd, r, 1, b["x"], b["dh1"], 0, gW1)
	be.Gemm(true, true, in, hd, r, 0.5, b["x"], b["dh1"], 0.25, b["tt"]) // dh1 as a (hid, rows) matrix
	be.PenaltySum(b["acc"], b["P"], n.offs["b1"][0], 1/float64(r))
	be.AdamStep(b["P"], b["G"], b["M"], b["V"], n.sizes["P"], n.offs["b1"][0], device.Adam{Correction: device.AdamCorrection(0.9, 0.999, 3), Beta1: 0.9, Beta2: 0.999, Eps: 1e-7})
	res := map[string][][]float64{}
	for _, name := range n.order {
		res[name] = make([][]float64, len(lanes))
		for l := range lanes {
			res[name][l] = make([]float64, n.sizes[name])
			if err := be.Read(b[name], l, 0, res[name][l]); err != nil {
				c.t.Fatalf("Read %s: %v", name, err)
			}
		}
	}
	if err := be.Finish(); err != nil {
		c.t.Fatalf("Finish: %v", err)
	}
	return res
}
