package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

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
			"regcl plan --device opencl:0:0 --lanes 3",
		Flags: flags([]cli.Flag{
			&cli.StringFlag{Name: "describe", TakesFile: true, Usage: "a device description (YAML: the fields regcl devices shows; see testdata/devices/h200.yaml) to plan for instead of --device"},
			modelFlag(),
			&cli.IntFlag{Name: "lanes", Value: 1, Usage: fmt.Sprintf("runs trained together as the lanes of one computation (1..%d)", device.MaxLanes)},
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
	} else {
		if dev, err = devices.Describe(c.String("device"), c.String("tuning"), os.Stderr); err != nil {
			return err
		}
		from = fmt.Sprintf("opencl:%d:%d, planned from what it reports", dev.Info.Platform, dev.Info.Device)
	}
	defer dev.Close()
	p, err := stepPlan(dev, cfgs)
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

// plan is the launches of one training step and of one inference pass.
type plan struct {
	step, infer         []opencl.Launch
	stepRows, inferRows int
}

// stepPlan drives the trainer's own step and evaluator (train.Rehearse)
// on a backend of dev (a described device: nothing runs) and returns the
// launches it recorded.
func stepPlan(dev *opencl.Device, cfgs []train.Config) (*plan, error) {
	b, err := dev.NewBackend(len(cfgs))
	if err != nil {
		return nil, err
	}
	be := b.(*opencl.Backend)
	defer be.Close()
	r, err := train.Rehearse(be, cfgs)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p := &plan{}
	p.stepRows, p.inferRows = r.Rows()
	be.Record(true)
	if err := r.Step(); err != nil {
		return nil, err
	}
	p.step = be.Launches()
	if err := r.Evaluate(); err != nil {
		return nil, err
	}
	p.infer = be.Launches()
	return p, be.Err()
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
		what string
		ls   []opencl.Launch
	}{{fmt.Sprintf("training step (%d rows)", p.stepRows), p.step}, {fmt.Sprintf("inference pass (an evaluation chunk of %d rows)", p.inferRows), p.infer}} {
		fmt.Fprintf(w, "\n%s: %d launches\n", part.what, len(part.ls))
		t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(t, "#\tKERNEL\tSETTINGS\tSIZES\tGLOBAL\tLOCAL\tLANES\tWORK-GROUPS\tOF UNITS")
		var short []string
		for j, l := range part.ls {
			g, local, of := l.Groups(), "driver", "?"
			if g > 0 {
				local, of = dims(l.Local), fmt.Sprintf("%.2f", float64(g)/float64(units))
			}
			fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", j+1, l.Kernel, names[settingsKey(l)], sizes(l), dims(l.Global), local,
				l.Global[2], groupsNum(g), of)
			if why := shortfall(l, units); why != "" {
				short = append(short, fmt.Sprintf("  #%d %s %s: %s", j+1, l.Kernel, sizes(l), why))
			}
		}
		t.Flush()
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
			return fmt.Sprintf("%s%s of a %d×%d product (K %d) with %d×%d tiles: %s", groupsText(g), lanes, m, s["N"], s["K"], l.Tile[0], l.Tile[1], of)
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
