package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/bench"
	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/internal/atomicfile"
	"github.com/regcl/regcl/internal/writable"
	"github.com/regcl/regcl/model"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure training and inference throughput, GEMM speed and kernel times on every backend",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "presets", Value: strings.Join(model.Methods, ","), Usage: "presets whose training throughput is measured"},
			&cli.IntFlag{Name: "epochs", Value: 3, Usage: "measured 54,000-image epochs per preset, after one warm-up epoch (the median is reported)"},
			&cli.IntFlag{Name: "late-epoch", Value: 10, Usage: "train each preset on to this epoch and time its last --epochs epochs too: the steady state (0: fresh only)"},
			&cli.BoolFlag{Name: "denormals", Usage: "count the subnormal floats in every buffer of each preset's run at its last epoch"},
			&cli.StringFlag{Name: "backends", Usage: "comma-separated subset: cpu, opencl, opencl:P:D (default: every reachable one)"},
			&cli.StringFlag{Name: "json", Usage: "also write the figures as JSON to this file"},
			&cli.StringFlag{Name: "against", Usage: "print each figure's ratio to an earlier --json file"},
			tuningFlag(),
			&cli.BoolFlag{Name: "untuned", Usage: "run OpenCL devices with their default settings, ignoring any tuning file"},
			&cli.IntFlag{Name: "lanes", Value: 1, Usage: fmt.Sprintf("train this many runs of each preset at once, as the lanes of one computation (1..%d); samples/s counts every lane's", device.MaxLanes)},
		}, dataFlags()...),
		Action: func(c *cli.Context) error {
			if c.Int("epochs") < 1 || c.Int("epochs") > 100 {
				return fmt.Errorf("bench: --epochs must be in 1..100, got %d", c.Int("epochs"))
			}
			if le := c.Int("late-epoch"); le != 0 && (le < 1+2*c.Int("epochs") || le > 1000) {
				return fmt.Errorf("bench: --late-epoch must be 0 or in %d..1000 (after the warm-up and the fresh epochs, with --epochs %d of its own), got %d", 1+2*c.Int("epochs"), c.Int("epochs"), le)
			}
			if l := c.Int("lanes"); l < 1 || l > device.MaxLanes {
				return fmt.Errorf("bench: --lanes must be in 1..%d, got %d", device.MaxLanes, l)
			}
			if p := c.String("json"); p != "" {
				if err := writable.File(p, false); err != nil {
					return fmt.Errorf("bench: --json %s: %w", p, err)
				}
			}
			var prev *bench.Report
			if p := c.String("against"); p != "" {
				var err error
				if prev, err = bench.ReadReport(p); err != nil {
					return fmt.Errorf("bench: --against: %w", err)
				}
			}
			data, err := loadData(c)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			opt := bench.Options{Data: data, Epochs: c.Int("epochs"), LateEpoch: c.Int("late-epoch"), Denormals: c.Bool("denormals"),
				Tuning: c.String("tuning"), Untuned: c.Bool("untuned"), Lanes: c.Int("lanes"),
				Log: os.Stderr, Presets: splitList(c.String("presets")), Backends: splitList(c.String("backends"))}
			rep, err := bench.Run(c.Context, opt)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			rep.WriteTable(os.Stdout)
			if prev != nil {
				fmt.Println()
				bench.WriteRatios(os.Stdout, rep, prev)
			}
			if p := c.String("json"); p != "" {
				b, _ := json.MarshalIndent(rep, "", "  ")
				if err := atomicfile.Write(p, append(b, '\n')); err != nil {
					return fmt.Errorf("bench: %w", err)
				}
			}
			return nil
		},
	}
}
