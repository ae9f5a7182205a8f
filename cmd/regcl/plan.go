package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/bench"
	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/devices"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/kernels"
	"github.com/regcl/regcl/train"
)

func planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "print a device's step plan: every kernel launch of one training step and of one inference pass, its settings and work-groups against the device's compute units",
		UsageText: "regcl plan --describe testdata/devices/h200.yaml --model batch_norm\n" +
			"regcl plan --device opencl:0:0 --lanes 3\n" +
			"regcl plan --device opencl --measure 50 --model dropout",
		Flags: flags([]cli.Flag{
			&cli.StringFlag{Name: "describe", TakesFile: true, Usage: "a device description (YAML: the fields regcl devices shows; see testdata/devices/h200.yaml) to plan for instead of --device"},
			modelFlag(),
			&cli.IntFlag{Name: "lanes", Value: 1, Usage: fmt.Sprintf("runs trained together as the lanes of one computation (1..%d)", device.MaxLanes)},
			&cli.IntFlag{Name: "measure", Usage: fmt.Sprintf("run the step and the inference pass N times (1..%d) on the device (--device, not --describe) and give each launch its median time on a profiling queue", maxMeasure)},
		}, runFlags(), deviceFlags()),
		Action: func(c *cli.Context) error {
			if err := planAction(c, os.Stdout); err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			return nil
		},
	}
}

func planAction(c *cli.Context, w io.Writer) error {
	lanes := c.Int("lanes")
	if lanes < 1 || lanes > device.MaxLanes {
		return fmt.Errorf("--lanes must be in 1..%d, got %d", device.MaxLanes, lanes)
	}
	if c.IsSet("describe") && c.IsSet("device") {
		return fmt.Errorf("--describe and --device both name the device; give one")
	}
	measure := c.Int("measure")
	if measure < 0 || measure > maxMeasure {
		return fmt.Errorf("--measure must be in 1..%d runs (0, the default, plans only), got %d", maxMeasure, measure)
	}
	if measure > 0 && c.IsSet("describe") {
		return fmt.Errorf("--measure runs the step on a device, and a described one runs nothing; name one with --device")
	}
	o, err := runOverrides(c)
	if err != nil {
		return err
	}
	cfgs := make([]train.Config, lanes)
	for l := range cfgs {
		if cfgs[l], err = train.NewConfig(c.String("model"), o, uint64(l+1)); err != nil {
			return err
		}
	}
	var dev *opencl.Device
	from := ""
	if path := c.String("describe"); path != "" {
		info, err := opencl.ReadDescription(path)
		if err != nil {
			return err
		}
		if dev, err = opencl.Describe(info, opencl.TuningFor(info, c.String("tuning"), os.Stderr)); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		from = "described by " + path
	} else if measure > 0 {
		d, err := devices.OpenTuned(c.String("device"), c.String("tuning"), os.Stderr)
		if err != nil {
			return err
		}
		var ok bool
		if dev, ok = d.(*opencl.Device); !ok {
			d.Close()
			return fmt.Errorf("--measure times OpenCL launches, and %s launches none; name an OpenCL device (regcl devices)", d.Name())
		}
		from = fmt.Sprintf("opencl:%d:%d, measured", dev.Info.Platform, dev.Info.Device)
	} else {
		if dev, err = devices.Describe(c.String("device"), c.String("tuning"), os.Stderr); err != nil {
			return err
		}
		from = fmt.Sprintf("opencl:%d:%d, planned from what it reports", dev.Info.Platform, dev.Info.Device)
	}
	defer dev.Close()
	p, err := stepPlan(dev, cfgs, measure)
	if err != nil {
		return err
	}
	i := dev.Info
	fmt.Fprintf(w, "device: %s (%s), %s\n", i.Name, i.PlatformName, from)
	fmt.Fprintf(w, "        %s, %d compute units, %s local memory, work-groups of up to %d, vector width %d/%d, %s global memory\n",
		i.Type, i.ComputeUnits, bytesIEC(i.LocalMem), i.MaxWorkGroupSize, i.PrefVecFloat, i.NativeVecFloat, bytesIEC(i.GlobalMem))
	fmt.Fprintf(w, "tuning: %s\n", dev.Tuning.Describe())
	fmt.Fprintf(w, "network: %s, batch %d, %d lane%s\n", cfgs[0].Model.Describe(), cfgs[0].BatchSize, lanes, map[bool]string{true: "s"}[lanes > 1])
	p.write(w, i.ComputeUnits)
	return nil
}

// maxMeasure bounds plan --measure: enough runs for a stable median.
const maxMeasure = 10000

// plan is the launches of one training step and of one inference pass.
type plan struct {
	step, infer         []opencl.Launch
	stepRows, inferRows int
	// measured is the runs each launch's Time is the median of (0: planned
	// only); stepWall and inferWall are the wall times of a step (of n in
	// a row, over n) and of an inference pass (each waited for), and
	// stepCalls and inferCalls their clSetKernelArg calls.
	measured              int
	stepWall, inferWall   time.Duration
	stepCalls, inferCalls float64 // clSetKernelArg calls a run
}

// stepPlan drives the trainer's own step and evaluator (train.Rehearse)
// on a backend of dev and returns the launches it recorded. With measure
// 0, once each (on a described device nothing runs). With measure n > 0
// (a real device), n training steps (in a row, as training does) and n
// inference passes on a profiling backend, after warming up: each launch
// carries its median device time over the n runs, and each part its wall
// time and clSetKernelArg calls a run. Runs whose launches differ from
// the first run's are an error: the medians would mix different launches.
func stepPlan(dev *opencl.Device, cfgs []train.Config, measure int) (*plan, error) {
	be, err := dev.NewProfilingBackend(len(cfgs)) // a described device's records the same, and times nothing
	if err != nil {
		return nil, err
	}
	defer be.Close()
	r, err := train.Rehearse(be, cfgs)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p := &plan{measured: measure}
	p.stepRows, p.inferRows = r.Rows()
	runs := max(measure, 1)
	if measure > 0 {
		const warm = 3 // first launches pay for building and first touches
		if err := r.Steps(warm); err != nil {
			return nil, err
		}
		for range warm {
			if err := r.Evaluate(); err != nil {
				return nil, err
			}
		}
	}
	be.Record(true)
	if p.step, p.stepWall, p.stepCalls, err = medianLaunches(be, "training step", runs, func() error { return r.Steps(runs) }); err != nil {
		return nil, err
	}
	evaluate := func() error {
		for range runs {
			if err := r.Evaluate(); err != nil {
				return err
			}
		}
		return nil
	}
	if p.infer, p.inferWall, p.inferCalls, err = medianLaunches(be, "inference pass", runs, evaluate); err != nil {
		return nil, err
	}
	return p, be.Err()
}

// medianLaunches runs f, which makes n runs of the same launches, and
// returns the first run's launches with each one's median time over the n
// runs, the wall time and the clSetKernelArg calls of a run (f's over n).
func medianLaunches(be *opencl.Backend, what string, n int, f func() error) ([]opencl.Launch, time.Duration, float64, error) {
	be.Launches() // forget what was recorded before
	calls := be.SetArgCalls()
	t0 := time.Now()
	if err := f(); err != nil {
		return nil, 0, 0, err
	}
	ls := be.Launches() // waits for the queue
	wall := time.Since(t0) / time.Duration(n)
	calls = be.SetArgCalls() - calls
	if err := be.Err(); err != nil {
		return nil, 0, 0, err
	}
	if len(ls)%n != 0 || len(ls) == 0 {
		return nil, 0, 0, fmt.Errorf("%d %ss made %d launches, not the same number each", n, what, len(ls))
	}
	per := len(ls) / n
	first := ls[:per]
	times := make([][]float64, per) // times[j]: launch j's times, in ns
	for i := range n {
		for j, l := range ls[i*per : (i+1)*per] {
			if l.Kernel != first[j].Kernel {
				return nil, 0, 0, fmt.Errorf("%s %d: launch %d is %s, the first run's was %s", what, i+1, j+1, l.Kernel, first[j].Kernel)
			}
			times[j] = append(times[j], float64(l.Time))
		}
	}
	for j := range first {
		first[j].Time = time.Duration(bench.Median(times[j]))
	}
	return first, wall, float64(calls) / float64(n), nil
}

// write prints the settings the launches take, then each part's table and
// the launches with fewer work-groups than units, each with why.
func (p *plan) write(w io.Writer, units int) {
	names := settingsNames(append(append([]opencl.Launch(nil), p.step...), p.infer...))
	fmt.Fprintln(w, "settings:")
	var keys []string
	for k := range names {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return names[keys[a]] > names[keys[b]] }) // ops first
	for _, k := range keys {
		fmt.Fprintf(w, "  %-10s %s\n", names[k], k[strings.Index(k, "\x00")+1:])
	}
	for _, part := range []struct {
		what  string
		ls    []opencl.Launch
		step  bool
		wall  time.Duration
		calls float64
	}{{fmt.Sprintf("training step (%d rows)", p.stepRows), p.step, true, p.stepWall, p.stepCalls},
		{fmt.Sprintf("inference pass (an evaluation chunk of %d rows)", p.inferRows), p.infer, false, p.inferWall, p.inferCalls}} {
		fmt.Fprintf(w, "\n%s: %d launches\n", part.what, len(part.ls))
		t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		head := "#\tKERNEL\tSETTINGS\tSIZES\tGLOBAL\tLOCAL\tLANES\tWORK-GROUPS\tOF UNITS"
		if p.measured > 0 {
			head += "\tµs"
		}
		fmt.Fprintln(t, head)
		var short []string
		var sum time.Duration
		for j, l := range part.ls {
			g, local, of := l.Groups(), "driver", "?"
			if g > 0 {
				local, of = dims(l.Local), fmt.Sprintf("%.2f", float64(g)/float64(units))
			}
			us := ""
			if p.measured > 0 {
				us = fmt.Sprintf("\t%.1f", float64(l.Time)/1e3)
				sum += l.Time
			}
			fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s%s\n", j+1, l.Kernel, names[settingsKey(l)], sizes(l), dims(l.Global), local,
				l.Global[2], groupsNum(g), of, us)
			if why := shortfall(l, units); why != "" {
				short = append(short, fmt.Sprintf("  #%d %s %s: %s", j+1, l.Kernel, sizes(l), why))
			}
		}
		t.Flush()
		if p.measured > 0 {
			fmt.Fprintf(w, "measured over %d runs on a profiling queue: %.1f µs of kernel time (the launches' medians added), %.1f µs of wall time a run (%s), %.1f clSetKernelArg calls a run\n",
				p.measured, float64(sum)/1e3, float64(part.wall)/1e3, map[bool]string{true: "the steps in a row", false: "each pass waited for"}[part.step], part.calls)
		}
		if len(short) == 0 {
			fmt.Fprintf(w, "every launch has at least %d work-groups\n", units)
			continue
		}
		fmt.Fprintf(w, "%d of %d launches have fewer work-groups than the %d compute units:\n", len(short), len(part.ls), units)
		for _, s := range short {
			fmt.Fprintln(w, s)
		}
	}
}

// shortfall says why launch l has fewer work-groups than the device's
// units, or "" when it has enough.
func shortfall(l opencl.Launch, units int) string {
	g := l.Groups()
	if g == 0 {
		return fmt.Sprintf("the driver chooses its work-groups over %s work-items", dims(l.Global))
	}
	if g >= units {
		return ""
	}
	of := fmt.Sprintf("%.2f of the %d units", float64(g)/float64(units), units)
	items := l.Local[0] * l.Local[1]
	lanes := "" // the groups are counted over every lane
	if n := l.Global[2]; n > 1 {
		lanes = fmt.Sprintf(" (%d in each of %d lanes)", g/n, n)
	}
	s := l.Sizes
	if m, ok := s["M"]; ok {
		if d, ok := s["depth"]; ok && l.Tile[0] > 0 {
			k := s["K"]
			return fmt.Sprintf("%s%s of a %d×%d product with %d×%d tiles, its K of %d in %d slices of at most %d (SPLITK; a slice is at least TSK deep): %s",
				groupsText(g), lanes, m, s["N"], l.Tile[0], l.Tile[1], k, (k+d-1)/d, d, of)
		}
		if sl, ok := s["slices"]; ok {
			return fmt.Sprintf("%s%s of %d work-items adds the %d K-slices' partial %d×%d products of the launch before, in a fixed order, with the epilogue: %s",
				groupsText(g), lanes, items, sl, m, s["N"], of)
		}
		if l.Tile[0] > 0 {
			why := ""
			if kernels.Direct(l.Settings, m, s["N"], s["K"]) {
				// The GPU's direct kernel (the CPU's has no fixed tile): a
				// work-item an element of C in WGD×WGD work-groups.
				why = ", a work-item an element of C (more work-groups would need smaller ones than WGD×WGD, or K cut into slices, split-K's second launch)"
			}
			return fmt.Sprintf("%s%s of a %d×%d product (K %d) with %d×%d tiles%s: %s", groupsText(g), lanes, m, s["N"], s["K"], l.Tile[0], l.Tile[1], why, of)
		}
		return fmt.Sprintf("%s%s of %d work-items for a %d×%d product (K %d): %s", groupsText(g), lanes, items, m, s["N"], s["K"], of)
	}
	if c, ok := s["cols"]; ok {
		if l.Local[1] > 1 { // ROW_SLICES: a column's rows shared by a work-group's items
			return fmt.Sprintf("%s of %d work-items%s for %d columns of %d rows, a column's rows shared by %d items of one work-group "+
				"(more work-groups would split a column among them, and a second launch would add their sums): %s",
				groupsText(g), items, lanes, c, s["rows"], l.Local[1], of)
		}
		return fmt.Sprintf("%s of %d work-items%s for %d columns of %d rows: %s", groupsText(g), items, lanes, c, s["rows"], of)
	}
	if n, ok := s["groups"]; ok {
		return fmt.Sprintf("%s of %d work-items%s adds the %d work-groups' partial sums of the launch before, in a fixed order (a second, small launch: the price of a deterministic sum): %s",
			groupsText(g), items, lanes, n, of)
	}
	if c, ok := s["classes"]; ok {
		// softmax_xent takes at most a work-group of rows, and
		// softmax_xent_part spreads more over work-groups: a row a work-item.
		return fmt.Sprintf("%s of %d work-items%s for %d rows of %d classes, a row a work-item (more work-groups would not shorten a row's work): %s",
			groupsText(g), items, lanes, s["rows"], c, of)
	}
	return fmt.Sprintf("%s of %d work-items%s over %s: %s", groupsText(g), items, lanes, sizes(l), of)
}

func groupsNum(g int) string {
	if g == 0 {
		return "?"
	}
	return fmt.Sprint(g)
}

func groupsText(g int) string {
	switch g {
	case 0:
		return "?"
	case 1:
		return "1 work-group"
	}
	return fmt.Sprintf("%d work-groups", g)
}

// sizes writes a launch's integer arguments that size its work (not its
// offsets and step count), in their declared order.
func sizes(l opencl.Launch) string {
	var parts []string
	for _, n := range []string{"M", "N", "K", "depth", "slices", "n", "pen", "rows", "cols", "classes", "groups"} {
		if v, ok := l.Sizes[n]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", n, v))
		}
	}
	return strings.Join(parts, ",")
}

func dims(d [3]int) string { return fmt.Sprintf("%d×%d×%d", d[0], d[1], d[2]) }

// settingsKey identifies the settings a launch's program was built with:
// the program's name, and its parameters in the contract's order.
func settingsKey(l opencl.Launch) string {
	for _, p := range kernels.Programs {
		if p.Name == l.Program {
			return l.Program + "\x00" + p.Key(l.Settings)
		}
	}
	return l.Program + "\x00?"
}

// settingsNames gives each distinct settings of the launches a short name:
// the program's, numbered when one program has several.
func settingsNames(ls []opencl.Launch) map[string]string {
	byProg := map[string][]string{}
	seen := map[string]bool{}
	for _, l := range ls {
		k := settingsKey(l)
		if !seen[k] {
			seen[k] = true
			byProg[l.Program] = append(byProg[l.Program], k)
		}
	}
	names := map[string]string{}
	for prog, ks := range byProg {
		for j, k := range ks {
			names[k] = prog
			if len(ks) > 1 {
				names[k] = fmt.Sprintf("%s#%d", prog, j+1)
			}
		}
	}
	return names
}
