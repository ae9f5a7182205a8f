package tuner

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/devicetest"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/kernels"
	"github.com/regcl/regcl/model"
)

func openDevice(t *testing.T) *opencl.Device {
	t.Helper()
	d := devicetest.Require(t, "OpenCL device", opencl.OpenFirst)
	t.Cleanup(func() { d.Close() })
	return d
}

// wrong is a backend whose products and Adam steps are off by one part in
// a thousand: a candidate that builds and runs but computes the wrong thing.
type wrong struct{ device.Backend }

func (w wrong) Gemm(tA, tB bool, m, n, k int, alpha float64, a, b device.Buffer, beta float64, c device.Buffer) {
	w.Backend.Gemm(tA, tB, m, n, k, alpha*1.001, a, b, beta, c)
}

func (w wrong) AdamStep(wb, g, m, v device.Buffer, n, pen int, h device.Adam) {
	h.Correction *= 1.001
	w.Backend.AdamStep(wb, g, m, v, n, pen, h)
}

// TestTunerRejectsWrongCandidates plants a wrong result in every candidate
// but the defaults, and checks that the search drops every one (counted)
// and keeps the defaults everywhere.
func TestTunerRejectsWrongCandidates(t *testing.T) {
	d := openDevice(t)
	planted := 0
	defaults := map[string]string{kernels.Ops.Name: kernels.Ops.Key(d.Tuning.Ops), d.GemmProgram().Name: d.GemmProgram().Key(d.Tuning.Matmul)}
	keyOf := map[string]*kernels.Program{kernels.Ops.Name: kernels.Ops, d.GemmProgram().Name: d.GemmProgram()}
	shapes := []device.GemmShape{{Name: "fwd1", M: 128, N: 256, K: 784}, {Name: "dX3", TransB: true, M: 128, N: 128, K: 10}}
	net := oddNet(t)
	var progress strings.Builder
	res, err := Tune(context.Background(), d, Options{Shapes: shapes, Net: net, Budget: 12 * time.Second, Seed: 3, Progress: &progress,
		Wrap: func(prog string, s kernels.Settings, be device.Backend) device.Backend {
			if keyOf[prog].Key(s) != defaults[prog] {
				planted++
				return wrong{be}
			}
			return be
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d candidates: %d failed to build, %d rejected, %d timed; %d planted", res.Tried, res.BuildFailed, res.Rejected, res.Timed, planted)
	if planted < 2 {
		t.Fatalf("the search met %d planted candidates: the test proves little", planted)
	}
	if res.Rejected != planted {
		t.Errorf("%d planted wrong candidates, %d rejected", planted, res.Rejected)
	}
	// Every kernel choice is met right after the defaults, before the
	// random search: the candidates after "default" are the defaults with
	// each value of each choosing parameter, in order.
	g := d.GemmProgram()
	var want []string
	for _, s := range g.ChoiceVariants(d.Tuning.Matmul, d.Info.Limits(g == kernels.GemmCPU)) {
		want = append(want, "kernel choice "+choiceOf(g, d.Tuning.Matmul, s)+") "+g.Key(s)+":")
	}
	if len(want) == 0 {
		t.Fatalf("%s has no kernel choices to try", g.Name)
	}
	var got []string
	for _, line := range strings.Split(progress.String(), "\n") {
		if _, after, ok := strings.Cut(line, "(kernel choice "); ok {
			got = append(got, "kernel choice "+after)
		}
	}
	for i, w := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], w) {
			t.Errorf("kernel choice %d: want a candidate %q, the search logged %q", i, w, got)
			break
		}
	}
	for _, r := range res.Rows {
		if r.Settings != defaults[d.GemmProgram().Name] {
			t.Errorf("%s: chose %s, a planted wrong candidate", r.Shape.Name, r.Settings)
		}
		if r.Tuned != r.Default || r.Default <= 0 {
			t.Errorf("%s: tuned %.1f GFLOP/s, default %.1f", r.Shape.Name, r.Tuned, r.Default)
		}
	}
	if res.OpsSettings != defaults[kernels.Ops.Name] {
		t.Errorf("ops: chose %s, a planted wrong candidate", res.OpsSettings)
	}
	if err := res.Tuning.Validate(d.Info); err != nil {
		t.Errorf("the result is not a valid tuning: %v", err)
	}
	// The tuned device opens and agrees with the conformance suite's Gemm.
	td, err := opencl.OpenTuned(d.Info, res.Tuning)
	if err != nil {
		t.Fatal(err)
	}
	defer td.Close()
	devicetest.GemmTest(t, td.NewBackend)
}

// TestTuningFiles: a tuning file round-trips; one for another device,
// driver or kernel sources, or with broken contents, is refused with a
// message saying why; TuningFor falls back to the defaults with one line.
func TestTuningFiles(t *testing.T) {
	d := openDevice(t)
	dir := t.TempDir()
	good := opencl.DefaultTuning(d.Info)
	good.Shapes = map[string]kernels.Settings{opencl.ShapeClass(false, false, 128, 256, 784): good.Matmul}
	path := dir + "/t.json"
	if err := opencl.WriteTuning(path, d.Info, good, nil); err != nil {
		t.Fatal(err)
	}
	got, err := opencl.ReadTuning(path, d.Info)
	if err != nil || got.Source != path || got.Gemm != good.Gemm || len(got.Shapes) != 1 {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	other := d.Info
	for name, c := range map[string]struct {
		mutate func(*opencl.Info)
		want   string
	}{
		"another device": {func(i *opencl.Info) { i.Name = "Some GPU" }, "made for"},
		"another driver": {func(i *opencl.Info) { i.Driver = "99.9" }, "driver"},
	} {
		i := other
		c.mutate(&i)
		if _, err := opencl.ReadTuning(path, i); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", name, err, c.want)
		}
	}
	b, _ := os.ReadFile(path)
	for name, c := range map[string]struct {
		content string
		want    string
	}{
		"other sources": {strings.Replace(string(b), `"sources": "`, `"sources": "0000`, 1), "kernel sources"},
		"broken JSON":   {string(b[:len(b)/2]), "not a regcl tuning file"},
		"not tuning":    {`{"format": "something", "version": 1}`, "not a regcl tuning file"},
		"bad value":     {strings.Replace(string(b), `"WG_REDUCE": `, `"WG_REDUCE": 3`, 1), "WG_REDUCE"},
		"bad class":     {strings.Replace(string(b), `"NN/128x256x1024"`, `"NN/100x256x1024"`, 1), "not a shape class"},
	} {
		p := dir + "/" + strings.ReplaceAll(name, " ", "_") + ".json"
		os.WriteFile(p, []byte(c.content), 0o644)
		if _, err := opencl.ReadTuning(p, d.Info); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", name, err, c.want)
		}
		var log strings.Builder
		tu := opencl.TuningFor(d.Info, p, &log)
		if tu.Source != opencl.Untuned || strings.Count(log.String(), "\n") != 1 || !strings.Contains(log.String(), "ignored") {
			t.Errorf("%s: TuningFor gave %q and said %q; want the defaults and one line", name, tu.Source, log.String())
		}
	}
	var log strings.Builder
	if tu := opencl.TuningFor(d.Info, path, &log); tu.Source != path || log.Len() != 0 {
		t.Errorf("a good pinned file: %q, said %q", tu.Source, log.String())
	}
}

// BenchmarkTune runs the search on the study's shapes (go test -bench Tune
// -benchtime 1x ./device/opencl/tuner), as regcl tune does.
func BenchmarkTune(b *testing.B) {
	d := devicetest.Require(b, "OpenCL device", opencl.OpenFirst)
	defer d.Close()
	cfg, err := model.Preset("baseline")
	if err != nil {
		b.Fatal(err)
	}
	products, err := model.Products(cfg, 128, 1024)
	if err != nil {
		b.Fatal(err)
	}
	net, err := NetOf(cfg, 128)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		res, err := Tune(context.Background(), d, Options{Shapes: Distinct(products), Net: net, Budget: time.Minute, Seed: uint64(i), Progress: progressLog()})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res.Rows {
			b.Logf("%-9s %-18s default %6.1f tuned %6.1f  %s", r.Shape.Name, r.Class, r.Default, r.Tuned, r.Settings)
		}
		b.Logf("ops %.0f → %.0f µs/step (%s); %d tried, %d build failures, %d rejected, %d timed, %s",
			res.OpsDefault, res.OpsTuned, res.OpsSettings, res.Tried, res.BuildFailed, res.Rejected, res.Timed, res.Took)
	}
}

// progressLog is the search's progress on stderr with TUNE_VERBOSE set.
func progressLog() io.Writer {
	if os.Getenv("TUNE_VERBOSE") != "" {
		return os.Stderr
	}
	return nil
}
