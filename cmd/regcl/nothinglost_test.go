package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

// The tests of "nothing lost" (issue 23): every path a command writes is
// checked before any work; one stop request gives one checkpoint; a run is
// never trained twice by processes sharing a folder, and a claim whose
// owner is gone is recovered; resume does what it says; train's records are
// reported.

// tree lists the paths under dir, to see what a command left.
func tree(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil && p != dir {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	return out
}

// TestPathsCheckedFirst: every flag that names a path a command writes, and
// compare's and sweep's folders, refuses a path that cannot be written in
// under a second, before any data is loaded or any epoch trained, naming the
// flag, the path and the reason, and leaves nothing behind.
func TestPathsCheckedFirst(t *testing.T) {
	data := realMNISTDir(t)
	root := t.TempDir()
	folder := filepath.Join(root, "a-folder")
	file := filepath.Join(root, "a-file")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	writeBytes(t, file, []byte("x"))
	grid := writeBytes(t, filepath.Join(root, "grid.yaml"), []byte("model: l1\ntrain_size: 1000\nepochs: 1\nseeds: 1\n"))
	// A study folder whose report.md is a folder, and one whose runs/ is a file.
	badReport := filepath.Join(root, "bad-report")
	os.MkdirAll(filepath.Join(badReport, study.RecordsDir), 0o755)
	os.MkdirAll(filepath.Join(badReport, study.ReportMD), 0o755)
	badRuns := filepath.Join(root, "bad-runs")
	os.MkdirAll(badRuns, 0o755)
	writeBytes(t, filepath.Join(badRuns, study.RecordsDir), nil)
	// The record of train's run goes into runs/<id>.json beside its CSV:
	// make that a folder.
	cfg, err := train.NewConfig("baseline", train.Overrides{TrainSize: ptr(1000), Epochs: ptr(1)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	recordDir := filepath.Join(root, "record-is-a-folder")
	os.MkdirAll(study.Open(recordDir).RecordPath(cfg), 0o755)
	// Checkpoints of an earlier run in a --checkpoint-dir.
	used := filepath.Join(root, "used-ck")
	os.MkdirAll(used, 0o755)
	writeBytes(t, filepath.Join(used, "ckpt-000000000008.regcl"), []byte("a checkpoint"))

	tr := func(extra ...string) []string {
		return append([]string{"train", "--train-size", "1000", "--epochs", "1", "--device", "cpu", "--data", data}, extra...)
	}
	out := filepath.Join(root, "ok", "r.csv") // a good --output where another flag is under test
	cases := []struct {
		name    string
		args    []string
		phrases []string
	}{
		{"train --output under /proc", tr("--output", "/proc/x/r.csv"), []string{"--output /proc/x/r.csv: cannot create folder /proc/x: no such file or directory"}},
		{"train --output a folder", tr("--output", folder), []string{"--output " + folder + ": " + folder + " is a folder, not a file"}},
		{"train --output under a file", tr("--output", filepath.Join(file, "r.csv")), []string{"--output " + filepath.Join(file, "r.csv") + ": " + file + " is a file, not a folder"}},
		{"train --output whose record's place is a folder", tr("--output", filepath.Join(recordDir, "r.csv")), []string{"--output " + filepath.Join(recordDir, "r.csv"), study.Open(recordDir).RecordPath(cfg) + " is a folder, not a file"}},
		{"train --save under /proc", tr("--output", out, "--save", "/proc/x/m.regcl"), []string{"--save /proc/x/m.regcl: cannot create folder /proc/x"}},
		{"train --save a folder", tr("--output", out, "--save", folder), []string{"--save " + folder + ": " + folder + " is a folder, not a file"}},
		{"train --checkpoint-dir under /proc", tr("--output", out, "--checkpoint-dir", "/proc/x/ck"), []string{"--checkpoint-dir /proc/x/ck: cannot create folder /proc/x"}},
		{"train --checkpoint-dir a file", tr("--output", out, "--checkpoint-dir", file), []string{"--checkpoint-dir " + file + ": " + file + " is a file, not a folder"}},
		{"train --checkpoint-dir holding another run's checkpoints", tr("--output", out, "--checkpoint-dir", used), []string{"--checkpoint-dir " + used + " holds checkpoints already", "regcl train --resume " + used}},
		{"compare --out under /proc", []string{"compare", "--models", "l1", "--seeds", "1", "--train-size", "1000", "--epochs", "1", "--device", "cpu", "--data", data, "--out", "/proc/x/s"}, []string{"compare: --out /proc/x/s: cannot create folder /proc/x"}},
		{"compare --out a file", []string{"compare", "--models", "l1", "--seeds", "1", "--train-size", "1000", "--epochs", "1", "--device", "cpu", "--data", data, "--out", file}, []string{"compare: --out " + file + ": " + file + " is a file, not a folder"}},
		{"compare --out whose runs/ is a file", []string{"compare", "--models", "l1", "--seeds", "1", "--train-size", "1000", "--epochs", "1", "--device", "cpu", "--data", data, "--out", badRuns}, []string{"compare: --out " + badRuns + ": " + filepath.Join(badRuns, study.RecordsDir) + " is a file, not a folder"}},
		{"sweep run --out under /proc", []string{"sweep", "run", "--grid", grid, "--shard", "0/1", "--device", "cpu", "--data", data, "--out", "/proc/x/s"}, []string{"sweep run: --out /proc/x/s: cannot create folder /proc/x"}},
		{"sweep run --out a file", []string{"sweep", "run", "--grid", grid, "--shard", "0/1", "--device", "cpu", "--data", data, "--out", file}, []string{"sweep run: --out " + file + ": " + file + " is a file, not a folder"}},
		{"sweep submit --out under /proc", []string{"sweep", "submit", "--slurm", "--dry-run", "--grid", grid, "--out", "/proc/x/s"}, []string{"sweep submit: --out /proc/x/s: cannot create folder /proc/x"}},
		{"report --in whose report.md is a folder", []string{"report", "--in", badReport}, []string{"report: --in " + badReport + ": " + filepath.Join(badReport, study.ReportMD) + " is a folder, not a file"}},
		{"bench --json under /proc", []string{"bench", "--backends", "cpu", "--data", data, "--json", "/proc/x/b.json"}, []string{"bench: --json /proc/x/b.json: cannot create folder /proc/x"}},
		{"bench --json a folder", []string{"bench", "--backends", "cpu", "--data", data, "--json", folder}, []string{"bench: --json " + folder + ": " + folder + " is a folder, not a file"}},
	}
	before := tree(root)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			stdout, stderr, exit := runRegclIn(t, root, nil, c.args...)
			took := time.Since(start)
			msg := strings.TrimSpace(stderr)
			t.Logf("regcl %s\n  %v, exit %d: %s", strings.Join(c.args, " "), took.Round(time.Millisecond), exit, msg)
			checkNoCrash(t, c.name, stdout, stderr)
			if exit != 1 {
				t.Errorf("exit status %d, want 1", exit)
			}
			for _, p := range c.phrases {
				if !strings.Contains(msg, p) {
					t.Errorf("stderr does not say %q", p)
				}
			}
			if anyEpochLine.MatchString(stdout) || strings.Contains(stdout, "[group ") || strings.Contains(stderr, "device: ") {
				t.Errorf("it went on to open the device or train:\n%s\n%s", stdout, stderr)
			}
			if took > time.Second {
				t.Errorf("refused after %v, want under a second", took)
			}
		})
	}
	if after := tree(root); !slices.Equal(after, before) {
		t.Errorf("the refused commands left things behind:\nbefore %q\nafter  %q", before, after)
	}
}

func ptr[T any](v T) *T { return &v }

// stopMsg is the last line of a run stopped wherever it was (in an epoch, in
// its validation, before the test): the checkpoint, the history, the command
// that continues.
var stopMsg = regexp.MustCompile(`training interrupted .*: checkpoint (\S+), history (\S+); continue with: regcl train --resume \S+`)

// TestOneStopRequest: `timeout`, which signals the process and then its
// process group (two signals at once), stops a training run 20 times with
// SIGINT and 20 times with SIGTERM: every time it is one request, the run
// writes its checkpoint and its history and ends with 130 (SIGINT) or 143
// (SIGTERM), never with the hard exit of a second request. timeout's limit
// is long; the test makes it fire once training runs (at a random point of
// an epoch) by sending it SIGALRM, which timeout takes for its timer.
func TestOneStopRequest(t *testing.T) {
	timeoutBin, err := exec.LookPath("timeout")
	if err != nil {
		needOrSkip(t, "coreutils' timeout is not installed: %v", err)
	}
	data := realMNISTDir(t)
	args := []string{"train", "--device", "cpu", "--data", data, "--train-size", "2000", "--epochs", "300"}
	rng := killRand(t)
	var rngMu sync.Mutex
	const tries = 20
	began := time.Now()
	var wg sync.WaitGroup
	for _, sig := range []struct {
		name string
		exit int
	}{{"INT", 130}, {"TERM", 143}} {
		wg.Add(1)
		go func() { // SIGINT's loop beside SIGTERM's: two cores
			defer wg.Done()
			for i := range tries {
				dir := t.TempDir()
				ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "o", "r.csv")
				ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
				cmd := exec.CommandContext(ctx, timeoutBin, append([]string{"--preserve-status", "-s", sig.name, "600", os.Args[0]},
					append(args, "--checkpoint-dir", ck, "--output", out)...)...)
				cmd.Env = append(os.Environ(), testMainEnv+"=1")
				cmd.Dir = dir
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					t.Error(err)
					cancel()
					return
				}
				if err := cmd.Start(); err != nil {
					t.Error(err)
					cancel()
					return
				}
				sc := bufio.NewScanner(stdout)
				for sc.Scan() && !strings.HasPrefix(sc.Text(), "Epoch ") {
				}
				rngMu.Lock()
				delay := time.Duration(rng.IntN(150)) * time.Millisecond // an epoch takes about 0.1 s here
				rngMu.Unlock()
				time.Sleep(delay)
				cmd.Process.Signal(syscall.SIGALRM) // timeout's timer fires
				for sc.Scan() {
				}
				cmd.Wait()
				cancel()
				exit := cmd.ProcessState.ExitCode()
				e := stderr.String()
				lines := strings.Split(strings.TrimSpace(e), "\n")
				last := lines[len(lines)-1]
				fail := func(format string, a ...any) {
					t.Errorf("SIG%s, try %d of %d: %s\nstderr:\n%s", sig.name, i+1, tries, fmt.Sprintf(format, a...), e)
				}
				if strings.Contains(e, "exiting now") {
					fail("taken for two requests")
					continue
				}
				if exit != sig.exit {
					fail("exit status %d, want %d", exit, sig.exit)
				}
				m := stopMsg.FindStringSubmatch(last)
				if m == nil {
					fail("the last line does not say where the checkpoint and the history are")
					continue
				}
				if _, path, err := train.LoadCheckpoint(ck, nil); err != nil || path != m[1] {
					fail("the checkpoint it names, %s, is not the newest valid one in %s (%s, %v)", m[1], ck, path, err)
				}
				if h, err := os.ReadFile(m[2]); err != nil || !bytes.HasPrefix(h, []byte("epoch,loss")) {
					fail("the history it names: %v", err)
				}
				if i == 0 || i == tries-1 {
					t.Logf("SIG%s, try %d (%v into the second epoch): exit %d: %s", sig.name, i+1, delay, exit, strings.TrimPrefix(last, "regcl: train: "))
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d tries of each signal took %v in all", tries, time.Since(began).Round(100*time.Millisecond))
}

// TestWatchSignals: the signals of one request (within sameRequest of the
// first, whichever of SIGINT and SIGTERM) stop once; a later one exits at
// once with status 1; and the statuses of a command's end.
func TestWatchSignals(t *testing.T) {
	sigs := make(chan os.Signal, 4)
	cancelled := make(chan struct{})
	exited := make(chan int, 1)
	var w syncBuffer
	st := watchSignals(sigs, func() { close(cancelled) }, &w, func(code int) { exited <- code })
	sigs <- syscall.SIGTERM
	<-cancelled
	sigs <- syscall.SIGTERM // the process group's copy
	time.Sleep(500 * time.Millisecond)
	sigs <- syscall.SIGINT // a Ctrl-C on top of it, within the documented second
	time.Sleep(300 * time.Millisecond)
	select {
	case code := <-exited:
		t.Fatalf("signals within a second of the first exited (%d):\n%s", code, w.String())
	default:
	}
	if st.signal() != syscall.SIGTERM {
		t.Errorf("the stop is recorded as %v, want the first signal", st.signal())
	}
	time.Sleep(400 * time.Millisecond) // 1.2 s after the first: a second request
	sigs <- syscall.SIGINT
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("the hard exit's status is %d, want 1", code)
		}
	case <-time.After(time.Second):
		t.Fatal("a second request did not exit")
	}
	if out := w.String(); strings.Count(out, "\n") != 2 || !strings.Contains(out, "exiting now, without a checkpoint") {
		t.Errorf("stderr:\n%s", out)
	}
	stopped := fmt.Errorf("train: %w at epoch 2", train.ErrInterrupted)
	for _, c := range []struct {
		err  error
		sig  os.Signal
		want int
	}{
		{nil, nil, 0}, {nil, syscall.SIGINT, 0},
		{stopped, syscall.SIGINT, 130}, {stopped, syscall.SIGTERM, 143},
		{errors.New("bad flag"), nil, 1}, {errors.New("interrupted, and the checkpoint could not be written"), syscall.SIGINT, 1},
		{stopped, nil, 1},
	} {
		if got := exitStatus(c.err, c.sig); got != c.want {
			t.Errorf("exitStatus(%v, %v) = %d, want %d", c.err, c.sig, got, c.want)
		}
	}
}

var runLine = regexp.MustCompile(`^\[group \d+/\d+\] 1 run: (\S+ seed \d+) `)

// trainings counts, in the outputs of processes that train one run a group
// (--lanes 1), the runs each trained (their "[group i/N] 1 run: …" lines)
// and their epoch lines.
func trainings(outputs ...[]string) (runs map[string]int, epochs int) {
	runs = map[string]int{}
	for _, out := range outputs {
		for _, l := range out {
			if m := runLine.FindStringSubmatch(l); m != nil {
				runs[m[1]]++
			}
			if strings.HasPrefix(l, "Epoch ") || strings.Contains(l, "] Epoch ") {
				epochs++
			}
		}
	}
	return runs, epochs
}

// fullTable matches a row of compare's table with two runs of its method.
var fullTable = regexp.MustCompile(`(?m)^(l1|dropout) +2 `)

// TestTwoComparesOneFolder: two compares started at once on one folder
// train every run exactly once between them (counted from their progress
// and epoch lines, one run a group), and each ends with the report of all
// of them. Three rounds, on fresh folders. (study's TestGroupClaimedOnce
// has two studies of many lanes share a folder.)
func TestTwoComparesOneFolder(t *testing.T) {
	data := realMNISTDir(t)
	for round := range 3 {
		out := t.TempDir()
		args := []string{"compare", "--models", "l1,dropout", "--seeds", "2", "--train-size", "1000", "--epochs", "2",
			"--device", "cpu", "--data", data, "--out", out, "--lanes", "1", "--parallel", "1"}
		a := startRegcl(t, "", nil, args...)
		b := startRegcl(t, "", nil, args...)
		ea, eb := a.wait(), b.wait()
		if ea != 0 || eb != 0 {
			t.Fatalf("round %d: exits %d and %d\n%s\n%s", round, ea, eb, a.stderr.String(), b.stderr.String())
		}
		runs, epochs := trainings(a.output(), b.output())
		t.Logf("round %d: first process trained %v, second %v; %d epoch lines", round,
			keys(trainings(a.output())), keys(trainings(b.output())), epochs)
		if len(runs) != 4 || epochs != 4*2 {
			t.Errorf("round %d: trained %v with %d epoch lines; want 4 runs once each, 8 epoch lines\n--- first:\n%s\n--- second:\n%s",
				round, runs, epochs, strings.Join(a.output(), "\n"), strings.Join(b.output(), "\n"))
		}
		for r, n := range runs {
			if n != 1 {
				t.Errorf("round %d: %s trained %d times", round, r, n)
			}
		}
		// Each waited for the other's runs: its report covers all four.
		for _, p := range []*process{a, b} {
			o := strings.Join(p.output(), "\n")
			if !strings.Contains(o, "wrote ") || !fullTable.MatchString(o) || len(fullTable.FindAllString(o, -1)) != 2 {
				t.Errorf("round %d: a process did not report on every run (two of each method):\n%s", round, o)
			}
		}
		if recs, _ := filepath.Glob(filepath.Join(out, study.RecordsDir, "*.json")); len(recs) != 4 {
			t.Errorf("round %d: %d records, want 4", round, len(recs))
		}
		if _, err := os.Stat(filepath.Join(out, study.RunningDir)); err == nil {
			t.Errorf("round %d: claims left behind: %q", round, tree(filepath.Join(out, study.RunningDir)))
		}
	}
}

func keys(runs map[string]int, _ int) []string {
	var out []string
	for k := range runs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestStaleClaimRecovered: a compare killed with SIGKILL in the middle of a
// run leaves its claim; while it ran, `sweep status` counted the run as
// running and a `sweep run` shard left it alone; after the kill, status
// counts it missing, and the next compare takes the claim over and
// continues the run from its newest checkpoint, not from the start.
func TestStaleClaimRecovered(t *testing.T) {
	data := realMNISTDir(t)
	out := t.TempDir()
	// Epochs long enough (about 0.4 s each here) that the run is still going
	// when sweep status and a sweep shard have looked.
	args := []string{"compare", "--models", "l1", "--seeds", "1", "--train-size", "6000", "--epochs", "12",
		"--device", "cpu", "--data", data, "--out", out}
	grid := writeBytes(t, filepath.Join(t.TempDir(), "grid.yaml"), []byte("model: l1\ntrain_size: 6000\nepochs: 12\nseeds: [1]\n"))
	cfg, err := train.NewConfig("l1", train.Overrides{TrainSize: ptr(6000), Epochs: ptr(12)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := study.Open(out)
	p := startRegcl(t, "", nil, args...)
	if _, ok := p.waitLine("Epoch 1/12"); !ok {
		t.Fatalf("the compare ended before its first epoch:\n%s", p.stderr.String())
	}
	for len(train.Checkpoints(d.CheckpointDir(cfg))) == 0 { // epoch 1's checkpoint
		if p.exited() {
			t.Fatalf("the compare ended before its first checkpoint:\n%s", p.stderr.String())
		}
		time.Sleep(time.Millisecond)
	}
	status, _, _ := runRegcl(t, nil, "sweep", "status", "--grid", grid, "--out", out)
	shard, shardErr, shardExit := runRegcl(t, nil, "sweep", "run", "--grid", grid, "--out", out, "--shard", "0/1", "--device", "cpu", "--data", data)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait()
	killed := p.cmd.Process.Pid
	newest := train.Checkpoints(d.CheckpointDir(cfg))[0]
	t.Logf("killed pid %d; its checkpoints: %q", killed, train.Checkpoints(d.CheckpointDir(cfg)))
	if !strings.Contains(status, "1 run: 0 done, 1 running, 0 missing") || !strings.Contains(status, fmt.Sprintf("by pid %d on ", killed)) {
		t.Errorf("sweep status while the compare ran:\n%s", status)
	}
	if shardExit != 0 || strings.Contains(shard, "Epoch ") || !strings.Contains(shard, "is being trained by pid") {
		t.Errorf("the sweep shard while the compare ran: exit %d\n%s\n%s", shardExit, shard, shardErr)
	}
	if _, err := os.Stat(d.ClaimPath(cfg)); err != nil {
		t.Fatalf("the killed compare left no claim: %v", err)
	}
	status, _, _ = runRegcl(t, nil, "sweep", "status", "--grid", grid, "--out", out)
	if !strings.Contains(status, "1 run: 0 done, 0 running, 1 missing") {
		t.Errorf("sweep status after the kill:\n%s", status)
	}

	q := startRegcl(t, "", nil, args...)
	done := make(chan int, 1)
	go func() { done <- q.wait() }()
	select {
	case exit := <-done:
		if exit != 0 {
			t.Fatalf("the next compare: exit %d\n%s", exit, q.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("the next compare did not finish in a minute (waiting for a dead owner?):\n%s", strings.Join(q.output(), "\n"))
	}
	o := strings.Join(q.output(), "\n")
	t.Logf("the next compare:\n%s", o)
	for _, want := range []string{fmt.Sprintf("taking over its claim from pid %d on ", killed), "resuming l1", "from " + newest} {
		if !strings.Contains(o, want) {
			t.Errorf("its output lacks %q", want)
		}
	}
	if _, epochs := trainings(q.output()); strings.Contains(o, "Epoch 1/12") || epochs == 0 {
		t.Errorf("it did not continue from the checkpoint (%d epoch lines)", epochs)
	}
	if !d.Done(cfg) {
		t.Error("the run has no record")
	}
	if _, err := os.Stat(d.ClaimPath(cfg)); err == nil {
		t.Error("the claim is left behind")
	}
}

// TestResumeExplicit: --resume takes a folder or a file; a run with nothing
// left to train says so and appends nothing; --epochs extends training to
// the model a run of that many epochs trains from the start (bit for bit);
// flags that contradict the checkpoint are refused, each named, before any
// epoch; flags that agree with it are not; and a fresh run does not start
// in a folder of another run's checkpoints.
func TestResumeExplicit(t *testing.T) {
	data := realMNISTDir(t)
	root := t.TempDir()
	ck, results := filepath.Join(root, "ck"), filepath.Join(root, "o", "r.csv")
	run := func(args ...string) (string, string, int) {
		return runRegclIn(t, root, nil, append(args, "--device", "cpu", "--data", data)...)
	}
	cfgArgs := []string{"--model", "l1", "--train-size", "2000", "--seed", "3"}
	if o, e, x := run(append([]string{"train", "--epochs", "3", "--checkpoint-dir", ck, "--output", results, "--save", filepath.Join(root, "m3")}, cfgArgs...)...); x != 0 {
		t.Fatalf("the first run: exit %d\n%s\n%s", x, o, e)
	}
	rows := func() int {
		r, err := csvRows(results)
		if err != nil {
			t.Fatal(err)
		}
		return len(r)
	}

	// From the folder, nothing left: said, and nothing appended.
	o, e, x := run("train", "--resume", ck)
	t.Logf("resume a finished run: exit %d: %s%s", x, o, e)
	if x != 0 || !strings.Contains(o, "nothing to train") || !strings.Contains(o, "nothing is appended to") || strings.Contains(o, "Epoch ") || rows() != 1 {
		t.Errorf("resuming a finished run: exit %d, %d rows\n%s%s", x, rows(), o, e)
	}
	// Flags that agree with the checkpoint are no contradiction.
	if o, e, x := run("train", "--resume", ck, "--model", "baseline", "--l1", "1e-4", "--train-size", "2000", "--seed", "3", "--epochs", "3"); x != 0 || !strings.Contains(o, "nothing to train") {
		t.Errorf("agreeing flags: exit %d\n%s%s", x, o, e)
	}
	// Contradicting flags, each named.
	o, e, x = run("train", "--resume", ck, "--model", "l2", "--seed", "9", "--lr", "0.01", "--batch-norm")
	t.Logf("contradicting flags: exit %d: %s", x, strings.TrimSpace(e))
	for _, want := range []string{"--model l2 (the checkpoint's: l1)", "--seed 9 (the checkpoint's: 3)", "--lr 0.01 (the checkpoint's: 0.001)", "--batch-norm true (the checkpoint's: false)"} {
		if !strings.Contains(e, want) {
			t.Errorf("the refusal does not name %q", want)
		}
	}
	if x != 1 || strings.Contains(o, "Epoch ") || strings.Contains(e, "device: ") {
		t.Errorf("contradicting flags: exit %d, or it went on:\n%s%s", x, o, e)
	}
	if o, e, x := run("train", "--resume", ck, "--epochs", "2"); x != 1 || !strings.Contains(e, "--epochs 2: the checkpoint") || !strings.Contains(e, "has 3 of 3 epochs done; ask for at least 3") {
		t.Errorf("--epochs below the epochs done: exit %d\n%s%s", x, o, e)
	}
	// A fresh run in the folder of another's checkpoints.
	if o, e, x := run(append([]string{"train", "--epochs", "3", "--checkpoint-dir", ck, "--output", results}, cfgArgs...)...); x != 1 || !strings.Contains(e, "holds checkpoints already") || !strings.Contains(e, "regcl train --resume "+ck) {
		t.Errorf("a fresh run into a used checkpoint folder: exit %d\n%s%s", x, o, e)
	}

	// From a file, two more epochs: the model of a 5-epoch run.
	files := train.Checkpoints(ck)
	o, e, x = run("train", "--resume", files[0], "--epochs", "5")
	t.Logf("resume from %s --epochs 5: exit %d\n%s%s", filepath.Base(files[0]), x, o, e)
	if x != 0 || strings.Contains(o, "Epoch 3/5") || !strings.Contains(o, "Epoch 4/5") || !strings.Contains(o, "Epoch 5/5") || rows() != 2 {
		t.Fatalf("resuming from a file with --epochs 5: exit %d, %d rows", x, rows())
	}
	if o, e, x := run(append([]string{"train", "--epochs", "5", "--output", filepath.Join(root, "fresh", "r.csv"), "--save", filepath.Join(root, "m5")}, cfgArgs...)...); x != 0 {
		t.Fatalf("the fresh 5-epoch run: exit %d\n%s%s", x, o, e)
	}
	// The resumed run wrote its model where the first run's --save said.
	sum, err := compareModels(filepath.Join(root, "m3"), filepath.Join(root, "m5"))
	if err != nil {
		t.Errorf("the model extended to 5 epochs vs a 5-epoch run: %v", err)
	} else {
		t.Logf("the model extended to 5 epochs vs a 5-epoch run: %s", sum)
	}
	// And nothing left: no duplicate row.
	if o, e, x := run("train", "--resume", ck, "--epochs", "5"); x != 0 || !strings.Contains(o, "nothing to train") || rows() != 2 {
		t.Errorf("resuming the finished 5-epoch run: exit %d, %d rows\n%s%s", x, rows(), o, e)
	}
}

// TestTrainThenReport: `regcl train` twice, then `regcl report`, with their
// defaults: report finds train's records; a compare on the same folder
// counts train's run as done.
func TestTrainThenReport(t *testing.T) {
	data := realMNISTDir(t)
	dir := t.TempDir()
	for _, m := range []string{"baseline", "l1"} {
		if o, e, x := runRegclIn(t, dir, nil, "train", "--model", m, "--train-size", "1000", "--epochs", "1", "--device", "cpu", "--data", data); x != 0 {
			t.Fatalf("train --model %s: exit %d\n%s%s", m, x, o, e)
		}
	}
	o, e, x := runRegclIn(t, dir, nil, "report")
	t.Logf("regcl report:\n%s", o)
	if x != 0 {
		t.Fatalf("report: exit %d\n%s%s", x, o, e)
	}
	for _, want := range []string{"\nbaseline ", "\nl1 ", "results/report.md"} {
		if !strings.Contains("\n"+o, want) {
			t.Errorf("report's output lacks %q", want)
		}
	}
	o, e, x = runRegclIn(t, dir, nil, "compare", "--models", "l1", "--seeds", "1", "--train-size", "1000", "--epochs", "1", "--device", "cpu", "--data", data)
	if x != 0 || !strings.Contains(o, "1 of 1 run already finished") || anyEpochLine.MatchString(o) {
		t.Errorf("a compare after train trained its run again: exit %d\n%s%s", x, o, e)
	}
}
