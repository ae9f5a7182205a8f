package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/regcl/regcl/internal/readfile"
)

// WriteTable prints the report as aligned tables.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "regcl bench, %s, %d CPUs, %s\n\n", r.Host, r.CPUs, r.Go)
	fmt.Fprintln(tw, "backend\tpreset\tfresh samples/s\ts/epoch\tGFLOP/s\tlate samples/s\ts/epoch\tGFLOP/s\tlate/fresh\t")
	for _, b := range r.Backends {
		for _, t := range b.Train {
			lateCols := "-\t-\t-\t-\t"
			if t.LateSamplesPerS > 0 {
				flag := ""
				if t.Slows {
					flag = " SLOWS"
				}
				lateCols = fmt.Sprintf("%.0f\t%.3f\t%.1f\t%.2f%s\t", t.LateSamplesPerS, t.LateSPerEpoch, t.LateGFLOPS, t.LateSlowdown, flag)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.3f\t%.1f\t%s\n", b.Name, t.name(), t.SamplesPerS, t.SPerEpoch, t.GFLOPS, lateCols)
		}
		fmt.Fprintf(tw, "%s\tinference (%s)\t%.0f\t\t%.1f\t\t\t\t\t\n", b.Name, b.InferPreset, b.InferSamplesPerS, b.InferGFLOPS)
	}
	tw.Flush()
	var slow []string
	for _, b := range r.Backends {
		for _, t := range b.Train {
			if t.Slows {
				slow = append(slow, fmt.Sprintf("%s on %s (%.2f×)", t.Preset, b.Name, t.LateSlowdown))
			}
		}
	}
	if len(slow) > 0 {
		fmt.Fprintf(w, "\nSLOWS: late throughput more than %.0f %% below fresh: %s\n", 100*(1-SlowdownFlag), strings.Join(slow, ", "))
	}
	for _, b := range r.Backends {
		for _, t := range b.Train {
			for _, c := range t.Denormals {
				fmt.Fprintf(w, "denormals: %s %s: %s holds %d subnormal floats of %d\n", b.Name, t.Preset, c.Name, c.Subnormals, c.Len)
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprint(tw, "gemm (GFLOP/s)\t")
	for _, b := range r.Backends {
		fmt.Fprintf(tw, "%s\t", b.Name)
		if len(b.GemmUntuned) > 0 {
			fmt.Fprint(tw, "untuned\ttuned/untuned\t")
		}
	}
	fmt.Fprintln(tw)
	if len(r.Backends) > 0 {
		for i, g := range r.Backends[0].Gemm {
			fmt.Fprintf(tw, "%s %s %dx%dx%d\t", g.Shape, g.Trans, g.M, g.N, g.K)
			for _, b := range r.Backends {
				if i < len(b.Gemm) {
					fmt.Fprintf(tw, "%.1f\t", b.Gemm[i].GFLOPS)
				}
				if len(b.GemmUntuned) > i {
					fmt.Fprintf(tw, "%.1f\t%.2f\t", b.GemmUntuned[i].GFLOPS, b.Gemm[i].GFLOPS/b.GemmUntuned[i].GFLOPS)
				}
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()
	for _, b := range r.Backends {
		if len(b.Kernels) == 0 {
			continue
		}
		var sum, launches float64
		fmt.Fprintf(w, "\nkernel time per training step, batch_norm, %s (OpenCL profiling events)\n", b.Name)
		fmt.Fprintln(tw, "kernel\tms/step\tlaunches/step\tshare\t")
		for _, k := range b.Kernels {
			fmt.Fprintf(tw, "%s\t%.3f\t%.0f\t%.1f%%\t\n", k.Name, k.MsPerStep, k.LaunchPerStep, 100*k.Share)
			sum += k.MsPerStep
			launches += k.LaunchPerStep
		}
		fmt.Fprintf(tw, "total\t%.3f\t%.0f\t\t\n", sum, launches)
		tw.Flush()
		if b.StepWallMs > 0 && launches > 0 {
			over := b.StepWallMs - sum
			fmt.Fprintf(w, "a step takes %.3f ms on the host's clock, %.3f ms of it in kernels: %.3f ms a step, %.1f µs a launch, not covered by kernel time (enqueueing, launch latency, host work)\n",
				b.StepWallMs, sum, over, over*1e3/launches)
		}
	}
	fmt.Fprintln(w)
	for _, b := range r.Backends {
		if b.Kind == "opencl" {
			fmt.Fprintf(w, "%s: startup %.3f s loading OpenCL (%s), %.3f s building the kernels (%s); tuning: %s\n", b.Name, b.LoadSeconds, b.Library, b.BuildSeconds, b.BuildOptions, b.Tuning)
		}
		fmt.Fprintf(w, "%s: peak resident memory of the process so far %.0f MiB\n", b.Name, b.PeakRSSMiB)
	}
}

// ReadReport reads a report written with --json.
func ReadReport(path string) (*Report, error) {
	b, err := readfile.Max(path, 64<<20, "a bench report")
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a regcl bench JSON report: %w", path, err)
	}
	return &r, nil
}

// WriteRatios prints each figure of r as a ratio to the same figure of prev
// (matched by backend name, preset or shape): above 1 is faster now.
func WriteRatios(w io.Writer, r, prev *Report) {
	old := map[string]float64{}
	key := func(b, what string) string { return b + "\x00" + what }
	for _, b := range prev.Backends {
		for _, t := range b.Train {
			old[key(b.Name, "train "+t.name())] = t.SamplesPerS
		}
		old[key(b.Name, "inference")] = b.InferSamplesPerS
		for _, g := range b.Gemm {
			old[key(b.Name, "gemm "+g.Shape)] = g.GFLOPS
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "ratios to %s (now / then; above 1 is faster now)\n", prev.Time.Format("2006-01-02 15:04"))
	fmt.Fprintln(tw, "backend\tfigure\tnow\tthen\tratio\t")
	line := func(b, what string, now float64) {
		if then, ok := old[key(b, what)]; ok && then > 0 {
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.2f\t\n", b, what, now, then, now/then)
		}
	}
	for _, b := range r.Backends {
		for _, t := range b.Train {
			line(b.Name, "train "+t.name(), t.SamplesPerS)
		}
		line(b.Name, "inference", b.InferSamplesPerS)
		for _, g := range b.Gemm {
			line(b.Name, "gemm "+g.Shape, g.GFLOPS)
		}
	}
	tw.Flush()
}

// name is the figure's preset, with its lanes when it trained more than one
// run at once ("l1 ×18"): figures of other lane counts are not compared.
func (t TrainFigure) name() string {
	if t.Lanes > 1 {
		return fmt.Sprintf("%s ×%d", t.Preset, t.Lanes)
	}
	return t.Preset
}
