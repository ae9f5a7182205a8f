package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regcl/regcl/device/devices"
	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/model"
)

// testMainEnv makes the test binary run main() instead of the tests, so that
// the tests can run os.Args[0] as the regcl command without building it.
const testMainEnv = "REGCL_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(testMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	if p := os.Getenv(killReportEnv); p != "" {
		os.Remove(p) // the tests append their sections
	}
	code := m.Run()
	if sharedRoot != "" {
		os.RemoveAll(sharedRoot)
	}
	os.Exit(code)
}

// runTimeout bounds every regcl run of the tests.
const runTimeout = 3 * time.Minute

// regclCmd is the command that runs regcl (this binary in main mode) with
// env added to the environment, in dir.
func regclCmd(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), testMainEnv+"=1"), env...)
	cmd.Dir = dir
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// runRegcl runs regcl with args (in a fresh temporary folder) and returns
// its output and exit status.
func runRegcl(t *testing.T, env []string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	return runRegclIn(t, t.TempDir(), env, args...)
}

func runRegclIn(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := regclCmd(ctx, dir, env, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("regcl %s: still running after %v\nstderr:\n%s", strings.Join(args, " "), runTimeout, e.String())
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("regcl %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// needOrSkip fails the test under CI (where everything must be there) and
// skips it elsewhere.
func needOrSkip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but "+format, args...)
	}
	t.Skipf(format, args...)
}

var (
	mnistOnce sync.Once
	mnistDir  string
	mnistErr  error
)

// realMNISTDir returns a folder holding the four canonical MNIST files: the
// data folder of the Go module cache (as on a fresh machine), else wherever
// mnist.Locate finds them.
func realMNISTDir(t testing.TB) string {
	t.Helper()
	mnistOnce.Do(func() {
		if d, err := mnist.ModuleDir(); err == nil {
			complete := true
			for _, f := range mnist.Files {
				if fi, err := os.Stat(filepath.Join(d, f.Name)); err != nil || !fi.Mode().IsRegular() {
					complete = false
				}
			}
			if complete {
				mnistDir = d
				return
			}
		}
		loc, err := mnist.Locate("")
		if err != nil {
			mnistErr = err
			return
		}
		mnistDir = loc.Dir
	})
	if mnistErr != nil {
		needOrSkip(t, "MNIST is not available: %v", mnistErr)
	}
	return mnistDir
}

// needOpenCL fails under CI, and skips elsewhere, when no OpenCL device can
// be listed.
func needOpenCL(t testing.TB) {
	t.Helper()
	infos, _, err := devices.List()
	if err == nil && len(infos) == 0 {
		err = fmt.Errorf("no OpenCL device found")
	}
	if err != nil {
		needOrSkip(t, "OpenCL is not available: %v", err)
	}
}

// copyFile copies src to dst (mode 0644).
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkNoCrash fails when the output of a run shows a panic or a stack trace.
func checkNoCrash(t testing.TB, what, stdout, stderr string) {
	t.Helper()
	for _, s := range []string{stdout, stderr} {
		if strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
			t.Errorf("%s: the output shows a panic or stack trace:\n%s", what, s)
		}
	}
}

// compareModels compares the tensors of two model files bit for bit and
// returns a summary, or an error saying where they differ.
func compareModels(gotPath, wantPath string) (string, error) {
	got, err := model.ReadFile(gotPath)
	if err != nil {
		return "", err
	}
	want, err := model.ReadFile(wantPath)
	if err != nil {
		return "", err
	}
	if len(got.Tensors) != len(want.Tensors) {
		return "", fmt.Errorf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	values, diff := 0, 0
	first := ""
	for i, g := range got.Tensors {
		w := want.Tensors[i]
		if g.Name != w.Name || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) {
			return "", fmt.Errorf("tensor %d is %s %v, want %s %v", i, g.Name, g.Shape, w.Name, w.Shape)
		}
		for j := range g.Data {
			values++
			if math.Float32bits(g.Data[j]) != math.Float32bits(w.Data[j]) {
				if diff == 0 {
					first = fmt.Sprintf("%s[%d] = %08x, want %08x", g.Name, j, math.Float32bits(g.Data[j]), math.Float32bits(w.Data[j]))
				}
				diff++
			}
		}
	}
	if diff > 0 {
		return "", fmt.Errorf("%d of %d values differ; first %s", diff, values, first)
	}
	return fmt.Sprintf("bit-identical (%d tensors, %d values)", len(got.Tensors), values), nil
}

// compareModelsRel compares two model files tensor by tensor with the
// relative norm ‖got−want‖/‖want‖ and returns the largest.
func compareModelsRel(gotPath, wantPath string) (maxRel float64, worst string, err error) {
	got, err := model.ReadFile(gotPath)
	if err != nil {
		return 0, "", err
	}
	want, err := model.ReadFile(wantPath)
	if err != nil {
		return 0, "", err
	}
	if len(got.Tensors) != len(want.Tensors) {
		return 0, "", fmt.Errorf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i, g := range got.Tensors {
		w := want.Tensors[i]
		if g.Name != w.Name || len(g.Data) != len(w.Data) {
			return 0, "", fmt.Errorf("tensor %d is %s (%d values), want %s (%d values)", i, g.Name, len(g.Data), w.Name, len(w.Data))
		}
		var d2, w2 float64
		for j := range g.Data {
			d := float64(g.Data[j]) - float64(w.Data[j])
			d2 += d * d
			w2 += float64(w.Data[j]) * float64(w.Data[j])
		}
		rel := math.Sqrt(d2)
		if w2 > 0 {
			rel /= math.Sqrt(w2)
		}
		if math.IsNaN(rel) || rel > maxRel || worst == "" {
			if math.IsNaN(rel) {
				rel = math.Inf(1)
			}
			maxRel, worst = max(maxRel, rel), g.Name
		}
	}
	return maxRel, worst, nil
}

// A process is a regcl run in the background whose stdout lines arrive,
// with their time, as it prints them.
type process struct {
	cmd     *exec.Cmd
	started time.Time
	lines   chan timedLine // closed at the end of stdout
	stderr  syncBuffer
	mu      sync.Mutex
	stdout  []timedLine
	done    chan struct{} // closed when the process has ended
	exit    int
	waitErr error
	cancel  context.CancelFunc
}

type timedLine struct {
	text string
	at   time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startRegcl starts regcl in dir; the test ends it if it is still running.
func startRegcl(t *testing.T, dir string, env []string, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	p := &process{cmd: regclCmd(ctx, dir, env, args...), lines: make(chan timedLine, 1000), done: make(chan struct{}), cancel: cancel}
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.started = time.Now()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := timedLine{sc.Text(), time.Now()}
			p.mu.Lock()
			p.stdout = append(p.stdout, l)
			p.mu.Unlock()
			p.lines <- l
		}
		close(p.lines)
		p.waitErr = p.cmd.Wait()
		p.exit = p.cmd.ProcessState.ExitCode()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitLine returns the next stdout line that starts with prefix; ok is false
// when the output ends first.
func (p *process) waitLine(prefix string) (timedLine, bool) {
	for l := range p.lines {
		if strings.HasPrefix(l.text, prefix) {
			return l, true
		}
	}
	return timedLine{}, false
}

// wait waits for the end of the process and returns its exit status.
func (p *process) wait() int {
	for range p.lines {
	}
	<-p.done
	return p.exit
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// output is everything the process printed on stdout so far.
func (p *process) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.stdout {
		out = append(out, l.text)
	}
	return out
}

// timedOutput is output with the time each line arrived.
func (p *process) timedOutput() []timedLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]timedLine(nil), p.stdout...)
}
