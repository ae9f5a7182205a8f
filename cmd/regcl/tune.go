package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/device/opencl/tuner"
	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

func tuneCommand() *cli.Command {
	return &cli.Command{
		Name:  "tune",
		Usage: "search the kernels' parameters on an OpenCL device for the network's shapes; train, compare and bench then use what it finds",
		UsageText: "regcl tune                          # the study's network on the first OpenCL device, 2 minutes\n" +
			"regcl tune --device opencl:0:0 --budget 5m --hidden 512,256 --batch-size 64",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "device", Value: "opencl", Usage: "the OpenCL device: opencl (the first GPU, else the first device) or opencl:P:D"},
			&cli.DurationFlag{Name: "budget", Value: 2 * time.Minute, Usage: "time to spend searching"},
			&cli.StringFlag{Name: "hidden", Usage: "hidden layer widths of the network whose products are tuned (default: the study's)"},
			&cli.IntFlag{Name: "batch-size", Value: train.DefaultBatchSize, Usage: "the batch size whose products are tuned"},
			&cli.StringFlag{Name: "out", Usage: "write the tuning file here (default: the user cache, where train, compare and bench look)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the search and of the oracle's random inputs"},
			&cli.StringFlag{Name: "lanes", Value: "auto", Usage: fmt.Sprintf("lanes the candidates are timed at: a number in 1..%d, or auto "+
				"(the largest group of the default study: the runs without BatchNorm)", device.MaxLanes)},
		},
		Action: func(c *cli.Context) error {
			budget := c.Duration("budget")
			if budget < 5*time.Second || budget > 24*time.Hour {
				return fmt.Errorf("tune: --budget must be between 5s and 24h, got %s", budget)
			}
			// The study's network, with --hidden's widths if given.
			net, err := model.Preset("baseline")
			if err != nil {
				return fmt.Errorf("tune: %w", err)
			}
			if h := c.String("hidden"); h != "" {
				if net.Hidden, err = model.ParseHidden(h); err != nil {
					return fmt.Errorf("tune: %w", err)
				}
			}
			if b := c.Int("batch-size"); b < 1 || b > 1<<16 {
				return fmt.Errorf("tune: --batch-size must be in 1..65536, got %d", b)
			}
			nLanes, err := lanes(c.String("lanes"))
			if err != nil {
				return fmt.Errorf("tune: %w", err)
			}
			if nLanes == 0 {
				if nLanes, err = studyGroupLanes(); err != nil {
					return fmt.Errorf("tune: %w", err)
				}
			}
			info, err := tuneDevice(c.String("device"))
			if err != nil {
				return fmt.Errorf("tune: %w", err)
			}
			dev, err := opencl.Open(info)
			if err != nil {
				return fmt.Errorf("tune: %w", err)
			}
			defer dev.Close()
			widths := append(append([]int{net.Inputs}, net.Hidden...), net.Classes)
			products, err := model.Products(net, c.Int("batch-size"), train.EvalRows)
			if err != nil {
				return fmt.Errorf("tune: %w", err)
			}
			shapes := tuner.Distinct(products)
			opsNet, err := tuner.NetOf(net, c.Int("batch-size"))
			if err != nil {
				return fmt.Errorf("tune: %w", err)
			}
			fmt.Fprintf(os.Stderr, "tuning %s for %s, batch %d, %s: %d product shapes, budget %s\n", dev.Name(),
				strings.Trim(strings.ReplaceAll(fmt.Sprint(widths), " ", "-"), "[]"), c.Int("batch-size"), plural.Count(nLanes, "lane", "lanes"), len(shapes), budget)
			progress, done := tuneProgress(budget)
			res, err := tuner.Tune(c.Context, dev, tuner.Options{Shapes: shapes, Net: opsNet, Lanes: nLanes, Budget: budget, Seed: c.Uint64("seed"), Progress: progress})
			done()
			if err != nil {
				return fmt.Errorf("tune: %w", err)
			}
			res.WriteTable(os.Stdout)
			path := c.String("out")
			if path == "" {
				if path, err = opencl.TuningPath(info); err != nil {
					return fmt.Errorf("tune: %w", err)
				}
			}
			if err := opencl.WriteTuning(path, info, res.Tuning, res.Rows); err != nil {
				return fmt.Errorf("tune: writing the tuning file: %w", err)
			}
			fmt.Printf("wrote %s: train, compare and bench on %s use it (--tuning FILE or $%s pins another)\n", path, dev.Name(), opencl.TuningEnv)
			return nil
		},
	}
}

// tuneDevice resolves --device to one OpenCL device.
func tuneDevice(spec string) (opencl.Info, error) {
	infos, err := opencl.List()
	if err != nil {
		return opencl.Info{}, fmt.Errorf("no OpenCL device to tune: %w", err)
	}
	switch {
	case spec == "opencl" || spec == "auto":
		return opencl.First(infos)
	case strings.HasPrefix(spec, "opencl:"):
		var p, d int
		if _, err := fmt.Sscanf(spec, "opencl:%d:%d", &p, &d); err == nil {
			for _, i := range infos {
				if i.Platform == p && i.Device == d {
					return i, nil
				}
			}
		}
		return opencl.Info{}, fmt.Errorf("--device %s: no such OpenCL device (regcl devices lists them)", spec)
	case spec == "cpu":
		return opencl.Info{}, fmt.Errorf("--device cpu: the gonum backend has nothing to tune; give an OpenCL device")
	}
	return opencl.Info{}, fmt.Errorf("--device %q: want opencl or opencl:P:D", spec)
}

// tuneProgress is where the search reports: a bar over the budget on a
// terminal (each candidate moves it and names itself), else one line per
// candidate on stderr.
func tuneProgress(budget time.Duration) (io.Writer, func()) {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return os.Stderr, func() {}
	}
	start := time.Now()
	bar := progressbar.NewOptions64(int64(budget/time.Second), progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription("searching"), progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(false))
	return writerFunc(func(p []byte) (int, error) {
			line := strings.TrimSpace(string(p))
			if len(line) > 60 {
				line = line[:60]
			}
			bar.Describe(line)
			bar.Set64(int64(time.Since(start) / time.Second))
			return len(p), nil
		}), func() {
			bar.Finish()
			fmt.Fprintln(os.Stderr)
		}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// studyGroupLanes is the size of the default study's largest group: the
// lane count its products run at most of the time.
func studyGroupLanes() (int, error) {
	cfgs, err := study.Configs(model.Methods, 3, train.Overrides{})
	if err != nil {
		return 0, err
	}
	groups := map[string]int{}
	most := 0
	for _, c := range cfgs {
		k := train.GroupKey(c)
		groups[k]++
		most = max(most, groups[k])
	}
	return most, nil
}
