package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/train"
)

// killReportEnv names a file that receives where each kill landed and how
// the final models compared.
const killReportEnv = "REGCL_KILL_REPORT"

// killSeedEnv fixes the random kill points (the seed is logged).
const killSeedEnv = "REGCL_KILL_SEED"

// The run the kill tests interrupt: small, but several epochs of several
// steps (3,600 training images: 29 steps of 128).
var killCfg = []string{"--model", "dropout", "--train-size", "4000", "--epochs", "4", "--seed", "3"}

const killEpochs = 4

// sharedRoot holds what several tests share (the uninterrupted reference
// runs); TestMain removes it.
var (
	sharedRoot string
	sharedMu   sync.Mutex
	references = map[string]*reference{}
	reportMu   sync.Mutex
)

// logKill logs a line and appends it to the kill report.
func logKill(t *testing.T, format string, args ...any) {
	t.Helper()
	s := fmt.Sprintf(format, args...)
	t.Log(s)
	if p := os.Getenv(killReportEnv); p != "" {
		reportMu.Lock()
		defer reportMu.Unlock()
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Error(err)
			return
		}
		fmt.Fprintf(f, "%s: %s\n", t.Name(), s)
		f.Close()
	}
}

// killRand is the source of the kill points: random, with the seed reported
// so that a run can be repeated (REGCL_KILL_SEED).
func killRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(killSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", killSeedEnv, err)
		}
		seed = v
	}
	logKill(t, "kill points drawn with %s=%d", killSeedEnv, seed)
	return rand.New(rand.NewPCG(seed, 0))
}

// reference is an uninterrupted run of killCfg on one device.
type reference struct {
	model    string        // its model file (--save)
	ckptDir  string        // its checkpoint folder
	csv      string        // its results CSV
	epochDur time.Duration // median time from one epoch line to the next
	secs     float64       // median seconds of an epoch, as the run printed them
	steps    int           // optimizer steps per epoch
	history  [][]string    // its history CSV, without the seconds column
	row      []string      // its row of the results CSV
	err      error
}

// getReference runs killCfg uninterrupted on device once per test binary.
func getReference(t *testing.T, device string) *reference {
	t.Helper()
	realMNISTDir(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if r := references[device]; r != nil {
		if r.err != nil {
			t.Fatalf("the reference run on %s failed: %v", device, r.err)
		}
		return r
	}
	if sharedRoot == "" {
		d, err := os.MkdirTemp("", "regcl-test-")
		if err != nil {
			t.Fatal(err)
		}
		sharedRoot = d
	}
	dir := filepath.Join(sharedRoot, "reference-"+strings.ReplaceAll(device, ":", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &reference{model: filepath.Join(dir, "M"), ckptDir: filepath.Join(dir, "D"), csv: filepath.Join(dir, "O", "r.csv")}
	references[device] = r
	r.err = r.run(t, dir, device)
	if r.err != nil {
		t.Fatalf("the reference run on %s failed: %v", device, r.err)
	}
	logKill(t, "reference run on %s: %d epochs of %d steps, %.1fs per epoch (median), about %v from one epoch line to the next",
		device, killEpochs, r.steps, r.secs, r.epochDur.Round(time.Millisecond))
	return r
}

var epochLine = regexp.MustCompile(`^Epoch (\d+)/(\d+)  (\d+)/(\d+)  ([0-9.]+)s `)

func (r *reference) run(t *testing.T, dir, device string) error {
	p := startRegcl(t, dir, nil, append(append([]string{"train"}, killCfg...),
		"--device", device, "--checkpoint-dir", r.ckptDir, "--save", r.model, "--output", r.csv)...)
	var at []time.Time
	var secs []float64
	for l := range p.lines {
		if m := epochLine.FindStringSubmatch(l.text); m != nil {
			at = append(at, l.at)
			r.steps, _ = strconv.Atoi(m[4])
			v, _ := strconv.ParseFloat(m[5], 64)
			secs = append(secs, v)
		}
	}
	if exit := p.wait(); exit != 0 {
		return fmt.Errorf("exit %d\n%s", exit, p.stderr.String())
	}
	if len(at) != killEpochs || r.steps < 10 {
		return fmt.Errorf("%d epoch lines of %d steps, want %d of at least 10:\n%s", len(at), r.steps, killEpochs, strings.Join(p.output(), "\n"))
	}
	var d []time.Duration
	for i := 1; i < len(at); i++ {
		d = append(d, at[i].Sub(at[i-1]))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	r.epochDur = d[len(d)/2]
	slices.Sort(secs)
	r.secs = secs[len(secs)/2]
	var err error
	if r.history, err = readHistory(filepath.Dir(r.csv)); err != nil {
		return err
	}
	rows, err := csvRows(r.csv)
	if err != nil {
		return err
	}
	if len(rows) != 1 {
		return fmt.Errorf("the reference results CSV has %d rows, want 1", len(rows))
	}
	r.row = rows[0]
	return nil
}

// csvRows returns the data rows of a results CSV (none when it does not exist).
func csvRows(path string) ([][]string, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], train.ResultHeader) {
		return nil, fmt.Errorf("%s: no header", path)
	}
	for i, r := range recs[1:] {
		if slices.Equal(r, train.ResultHeader) {
			return nil, fmt.Errorf("%s: a second header at row %d", path, i+1)
		}
	}
	return recs[1:], nil
}

// readHistory reads the one history CSV in dir, without its seconds column.
func readHistory(dir string) ([][]string, error) {
	m, _ := filepath.Glob(filepath.Join(dir, "*_history.csv"))
	if len(m) != 1 {
		return nil, fmt.Errorf("%d history files in %s, want 1", len(m), dir)
	}
	f, err := os.Open(m[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	for i := range recs {
		recs[i] = recs[i][:len(recs[i])-1]
	}
	return recs, nil
}

// ckptState is what a checkpoint folder holds.
type ckptState struct {
	files []string // checkpoint files (ckpt-*.regcl), oldest first
	temps []string // temporary files of interrupted writes
	path  string   // the checkpoint a resume would use; "" for none
	epoch int      // its epochs completed
	step  int      // its step inside the next epoch
}

func checkpoints(t *testing.T, dir string) ckptState {
	t.Helper()
	var s ckptState
	s.files, _ = filepath.Glob(filepath.Join(dir, "ckpt-*.regcl"))
	s.temps, _ = filepath.Glob(filepath.Join(dir, ".ckpt-*.tmp*"))
	f, path, err := train.LoadCheckpoint(dir, nil)
	if err != nil {
		return s
	}
	var meta struct {
		Epoch     int `json:"epoch"`
		EpochStep int `json:"epoch_step"`
	}
	if err := json.Unmarshal(f.Meta, &meta); err != nil {
		t.Fatalf("%s: meta: %v", path, err)
	}
	s.path, s.epoch, s.step = path, meta.Epoch, meta.EpochStep
	return s
}

func (s ckptState) String() string {
	if s.path == "" {
		return fmt.Sprintf("no valid checkpoint (%d checkpoint files, %d temporary)", len(s.files), len(s.temps))
	}
	return fmt.Sprintf("%s (epoch %d done) of %d checkpoint files, %d temporary", filepath.Base(s.path), s.epoch, len(s.files), len(s.temps))
}

// epochInfo parses an epoch line: the epoch (1-based), the steps of an
// epoch and the seconds the epoch took.
func epochInfo(t *testing.T, line string) (epoch, steps int, secs float64) {
	t.Helper()
	m := epochLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("not an epoch line: %q", line)
	}
	epoch, _ = strconv.Atoi(m[1])
	steps, _ = strconv.Atoi(m[4])
	secs, _ = strconv.ParseFloat(m[5], 64)
	return epoch, steps, secs
}

// killRun kills p with SIGKILL inside the epoch after its first epoch line:
// once that epoch's checkpoint is in dir (when dir is set), plus frac of
// the time an epoch takes. That time is what the run printed for the epoch
// before, so that the kill follows the machine's current speed, but at most
// ref's median (a process's first epoch is slow, and the next one may not
// be). It says where the kill landed; landed is the epoch it interrupted
// (killEpochs+1 when all were done).
func killRun(t *testing.T, p *process, ref *reference, dir string, frac float64) (landed int, where string) {
	t.Helper()
	l, ok := p.waitLine("Epoch ")
	if !ok {
		p.wait()
		t.Fatalf("the run ended (exit %d) before its first epoch line:\n%s", p.exit, p.stderr.String())
	}
	e0, steps, secs := epochInfo(t, l.text)
	from, fromWhat := l.at, fmt.Sprintf("the line of epoch %d", e0)
	if dir != "" && e0 < killEpochs {
		ck := filepath.Join(dir, fmt.Sprintf("ckpt-%012d.regcl", e0*steps))
		for {
			if _, err := os.Stat(ck); err == nil {
				break
			}
			if p.exited() {
				t.Fatalf("the run ended (exit %d) before writing %s:\n%s", p.exit, ck, p.stderr.String())
			}
			time.Sleep(time.Millisecond)
		}
		from, fromWhat = time.Now(), fmt.Sprintf("the checkpoint of epoch %d was complete", e0)
	}
	epoch := time.Duration(max(min(secs, ref.secs), 0.05) * float64(time.Second))
	time.Sleep(time.Until(from.Add(time.Duration(frac * float64(epoch)))))
	if p.exited() {
		t.Fatalf("the run finished (exit %d) before the kill", p.exit)
	}
	killed := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait()
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the run was not killed by SIGKILL: %v", p.cmd.ProcessState)
	}
	e, lineAt := 0, time.Time{}
	for _, ll := range p.timedOutput() {
		if m := epochLine.FindStringSubmatch(ll.text); m != nil {
			e, _ = strconv.Atoi(m[1])
			lineAt = ll.at
		}
	}
	st := ckptState{}
	if dir != "" {
		st = checkpoints(t, dir)
	}
	since := killed.Sub(lineAt).Round(time.Millisecond)
	switch {
	case dir != "" && st.epoch < e && len(st.temps) > 0:
		where = fmt.Sprintf("during the checkpoint write after epoch %d (%v after its line)", e, since)
	case dir != "" && st.epoch < e:
		where = fmt.Sprintf("after epoch %d's line, before its checkpoint was complete (%v after the line)", e, since)
	case e >= killEpochs:
		where = fmt.Sprintf("after the last epoch, while testing or saving (%v after its line)", since)
	case e != e0:
		where = fmt.Sprintf("in epoch %d (%v after the line of epoch %d)", e+1, since, e)
	default:
		in := killed.Sub(from)
		where = fmt.Sprintf("in epoch %d, %v after %s (≈ step %d of %d, estimated from an epoch's %v)",
			e+1, in.Round(time.Millisecond), fromWhat, min(int(float64(in)/float64(epoch)*float64(steps)), steps), steps, epoch.Round(10*time.Millisecond))
	}
	if dir != "" {
		where += "; left " + st.String()
	}
	return e + 1, where
}

// finishRun waits for p, which must succeed, and checks its model against
// the reference bit for bit and its history against the reference's.
func finishRun(t *testing.T, p *process, ref *reference, model, outDir string) {
	t.Helper()
	if exit := p.wait(); exit != 0 {
		t.Fatalf("the finishing run failed (exit %d):\n%s", exit, p.stderr.String())
	}
	checkNoCrash(t, "finishing run", strings.Join(p.output(), "\n"), p.stderr.String())
	sum, err := compareModels(model, ref.model)
	if err != nil {
		logKill(t, "final model vs the uninterrupted run: DIFFERENT: %v", err)
		t.Error("the final model differs from the uninterrupted run's")
	} else {
		logKill(t, "final model vs the uninterrupted run: %s", sum)
	}
	h, err := readHistory(outDir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(h, ref.history, slices.Equal) {
		t.Errorf("the history differs from the uninterrupted run's (seconds aside):\n got %q\nwant %q", h, ref.history)
	}
}

// checkKept checks that a folder keeps at most limit checkpoint files.
func checkKept(t *testing.T, dir string, limit int, when string) {
	t.Helper()
	if st := checkpoints(t, dir); len(st.files) > limit {
		t.Errorf("%s: %d checkpoint files in %s, want at most %d", when, len(st.files), dir, limit)
	}
}

// TestKillAndResume kills training with SIGKILL at random points (three
// epochs, and in the middle of a checkpoint write), resumes each time, and
// requires the final model to equal an uninterrupted run's bit for bit.
func TestKillAndResume(t *testing.T) {
	ref := getReference(t, "cpu")
	rng := killRand(t)
	root := t.TempDir()
	out := filepath.Join(root, "O")
	results := filepath.Join(out, "r.csv")
	finished := 0
	checkCSV := func(t *testing.T, when string) {
		t.Helper()
		rows, err := csvRows(results)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != finished {
			t.Fatalf("%s: the results CSV has %d rows, want %d (one per finished run)", when, len(rows), finished)
		}
		for _, r := range rows {
			if !slices.Equal(r, ref.row) {
				t.Errorf("%s: results row %q, want the uninterrupted run's %q", when, r, ref.row)
			}
		}
	}
	fresh := func(t *testing.T, dir string, env []string, model string) *process {
		return startRegcl(t, root, env, append(append([]string{"train"}, killCfg...),
			"--device", "cpu", "--checkpoint-dir", dir, "--save", model, "--output", results)...)
	}
	// A resumed run gets no configuration: the checkpoint's is the run's.
	// Nor does it get --save and --output (but where the checkpoint is not
	// this run's own: explicit): the checkpoint keeps the fresh run's.
	resume := func(t *testing.T, dir, model string, explicit bool) *process {
		args := []string{"train", "--resume", dir, "--device", "cpu"}
		if explicit {
			args = append(args, "--save", model, "--output", results)
		}
		return startRegcl(t, root, nil, args...)
	}

	t.Run("three kills", func(t *testing.T) {
		dir, model := filepath.Join(root, "A"), filepath.Join(root, "A.regcl")
		var landed []int
		distinct := map[int]bool{}
		for run := 1; ; run++ {
			st := checkpoints(t, dir)
			var p *process
			if st.path == "" {
				p = fresh(t, dir, nil, model)
			} else {
				p = resume(t, dir, model, false)
			}
			// Kill until three epochs have been hit; a run that has only the
			// last epoch left (or none) is let finish.
			if len(distinct) >= 3 || run > 6 || st.epoch >= killEpochs-1 {
				finishRun(t, p, ref, model, out)
				finished++
				checkCSV(t, "after the finishing run")
				checkKept(t, dir, train.KeepCheckpoints, "after the finishing run")
				break
			}
			frac := 0.05 + 0.75*rng.Float64()
			e, where := killRun(t, p, ref, dir, frac)
			landed = append(landed, e)
			if e <= killEpochs {
				distinct[e] = true
			}
			logKill(t, "kill %d (%s run, SIGKILL at %.0f%% of an epoch): %s", len(landed),
				map[bool]string{true: "fresh", false: "resumed"}[st.path == ""], 100*frac, where)
			checkNoCrash(t, "killed run", "", p.stderr.String())
			checkCSV(t, fmt.Sprintf("after kill %d", len(landed)))
			// The kill can come between a checkpoint's rename and the removal
			// of the oldest, so one more may be left until the next save.
			checkKept(t, dir, train.KeepCheckpoints+1, fmt.Sprintf("after kill %d", len(landed)))
		}
		if len(distinct) < 3 {
			t.Errorf("the kills landed in epochs %v: want three different epochs", landed)
		}
	})

	t.Run("kill during a checkpoint write", func(t *testing.T) {
		dir, model := filepath.Join(root, "B"), filepath.Join(root, "B.regcl")
		target := 2 + rng.IntN(2) // the checkpoint after epoch 2 or 3
		p := fresh(t, dir, []string{"REGCL_TEST_WRITE_DELAY=2s"}, model)
		seen := map[string]bool{}
		var tmp string
		for tmp == "" {
			if p.exited() {
				t.Fatalf("the run ended (exit %d) before checkpoint write %d:\n%s", p.exit, target, p.stderr.String())
			}
			m, _ := filepath.Glob(filepath.Join(dir, ".ckpt-*.tmp*"))
			for _, f := range m {
				if !seen[f] {
					seen[f] = true
					if len(seen) == target {
						tmp = f
					}
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		found := time.Now()
		time.Sleep(time.Duration(rng.Float64() * float64(1200*time.Millisecond)))
		if _, err := os.Stat(tmp); err != nil {
			t.Fatalf("the temporary file is gone before the kill: %v", err)
		}
		into := time.Since(found)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.wait()
		fi, err := os.Stat(tmp)
		if err != nil {
			t.Fatalf("after the kill the temporary file %s is gone: %v", tmp, err)
		}
		final := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(tmp), "."), filepath.Ext(tmp))
		if _, err := os.Stat(filepath.Join(dir, final)); err == nil {
			t.Errorf("the checkpoint %s exists although its write was killed", final)
		}
		refSize := int64(0) // a whole checkpoint's size (they differ by a few bytes of JSON)
		if m, _ := filepath.Glob(filepath.Join(ref.ckptDir, "ckpt-*.regcl")); len(m) > 0 {
			if ri, err := os.Stat(m[0]); err == nil {
				refSize = ri.Size()
			}
		}
		st := checkpoints(t, dir)
		logKill(t, "kill during checkpoint write %d (after epoch %d): %s held %d bytes (a whole checkpoint: about %d), killed %v after it appeared; left %s",
			target, target, filepath.Base(tmp), fi.Size(), refSize, into.Round(time.Millisecond), st)
		if st.epoch != target-1 {
			t.Errorf("after the kill the newest valid checkpoint is %s, want the one of epoch %d", st, target-1)
		}
		checkCSV(t, "after the kill during a checkpoint write")
		p = resume(t, dir, model, false)
		finishRun(t, p, ref, model, out)
		if !strings.Contains(p.stderr.String(), "from "+st.path) {
			t.Errorf("the resumed run did not start from %s:\n%s", st.path, p.stderr.String())
		}
		finished++
		checkCSV(t, "after the finishing run")
		checkKept(t, dir, train.KeepCheckpoints, "after the finishing run")
		logKill(t, "after the finishing run the folder holds %s", checkpoints(t, dir))
	})

	t.Run("damaged newest checkpoint", func(t *testing.T) {
		dir, model := filepath.Join(root, "C"), filepath.Join(root, "C.regcl")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		src := checkpoints(t, ref.ckptDir)
		if len(src.files) != 2 {
			t.Fatalf("the reference run kept %d checkpoints, want 2", len(src.files))
		}
		for _, f := range src.files {
			copyFile(t, f, filepath.Join(dir, filepath.Base(f)))
		}
		newest, older := filepath.Join(dir, filepath.Base(src.files[1])), filepath.Join(dir, filepath.Base(src.files[0]))
		fi, err := os.Stat(newest)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(newest, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
		p := resume(t, dir, model, true) // the reference's checkpoints keep the reference's outputs
		finishRun(t, p, ref, model, out)
		stderr := p.stderr.String()
		if !strings.Contains(stderr, "skipping damaged checkpoint: "+newest) {
			t.Errorf("no warning about the damaged %s on stderr:\n%s", newest, stderr)
		}
		if !strings.Contains(stderr, "from "+older) {
			t.Errorf("the run did not resume from the older %s:\n%s", older, stderr)
		}
		for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if strings.HasPrefix(l, "skipping") {
				logKill(t, "newest checkpoint truncated to %d of %d bytes; stderr: %s", fi.Size()/2, fi.Size(), l)
			}
		}
		finished++
		checkCSV(t, "after the finishing run")
		checkKept(t, dir, train.KeepCheckpoints, "after the finishing run")
	})
}

var interruptMsg = regexp.MustCompile(`training interrupted at epoch (\d+), step (\d+) of (\d+): checkpoint (\S+), history (\S+); continue with: (regcl train --resume (\S+).*)$`)

// TestInterruptSIGINT interrupts training with SIGINT: it must stop with an
// error saying where the checkpoint and the history are and the command that
// continues, with exit status 130, append nothing to the results, and that
// command, run from another folder, must reach the uninterrupted run's model
// and write its results where the interrupted run's went.
func TestInterruptSIGINT(t *testing.T) {
	ref := getReference(t, "cpu")
	rng := killRand(t)
	root := t.TempDir()
	out := filepath.Join(root, "O")
	results := filepath.Join(out, "r.csv")
	p := startRegcl(t, root, nil, append(append([]string{"train"}, killCfg...),
		"--device", "cpu", "--save", filepath.Join(root, "M1"), "--output", results)...)
	l, ok := p.waitLine("Epoch ")
	if !ok {
		p.wait()
		t.Fatalf("the run ended before its first epoch line:\n%s", p.stderr.String())
	}
	_, _, secs := epochInfo(t, l.text)
	secs = min(secs, ref.secs) // a process's first epoch is slow
	frac := 0.05 + 0.75*rng.Float64()
	time.Sleep(time.Until(l.at.Add(time.Duration(frac * secs * float64(time.Second)))))
	if p.exited() {
		t.Fatal("the run finished before the interrupt")
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exit := p.wait()
	stderr := p.stderr.String()
	checkNoCrash(t, "interrupted run", strings.Join(p.output(), "\n"), stderr)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	msg := lines[len(lines)-1]
	logKill(t, "SIGINT at %.0f%% of an epoch (%.1fs) after the first epoch line: exit %d, %q", 100*frac, secs, exit, msg)
	if exit != 130 {
		t.Errorf("exit status %d after SIGINT, want 130 (stopped by SIGINT, checkpoint saved)", exit)
	}
	m := interruptMsg.FindStringSubmatch(msg)
	if !strings.HasPrefix(msg, "regcl: ") || m == nil {
		t.Fatalf("the last line of stderr does not say where the checkpoint and the history are: %q", msg)
	}
	ckpt, hist, hint, dir := m[4], m[5], m[6], m[7]
	if filepath.Dir(ckpt) != filepath.Clean(dir) {
		t.Errorf("the checkpoint %s is not in the folder to resume from, %s", ckpt, dir)
	}
	if _, err := model.ReadFile(ckpt); err != nil {
		t.Errorf("the checkpoint it names: %v", err)
	}
	h, err := readHistory(filepath.Dir(hist))
	if err != nil {
		t.Errorf("the history it names: %v", err)
	} else if epoch, _ := strconv.Atoi(m[1]); len(h)-1 != epoch-1 { // a header and the epochs done
		t.Errorf("the history holds %d epochs, want %d", len(h)-1, epoch-1)
	}
	if rows, err := csvRows(results); err != nil || len(rows) != 0 {
		t.Errorf("the interrupted run appended to the results CSV: %d rows, %v", len(rows), err)
	}
	// The hint, word for word, from another folder: the history and the
	// results go where the interrupted run's went.
	model2 := filepath.Join(root, "M2")
	p = startRegcl(t, t.TempDir(), nil, append(strings.Fields(hint)[1:], "--save", model2)...)
	finishRun(t, p, ref, model2, out)
	if rows, err := csvRows(results); err != nil || len(rows) != 1 || !slices.Equal(rows[0], ref.row) {
		t.Errorf("after resuming, the results CSV holds %q (%v), want the one row %q", rows, err, ref.row)
	}
}

// TestKillAndResumeOpenCL kills an OpenCL run once, resumes it, and compares
// the result with an uninterrupted OpenCL run: bit for bit, since every
// kernel is deterministic (no atomics; every reduction runs in a fixed order)
// and a checkpoint holds the whole state, so any difference is a resume bug.
func TestKillAndResumeOpenCL(t *testing.T) {
	needOpenCL(t)
	ref := getReference(t, "opencl")
	rng := killRand(t)
	root := t.TempDir()
	dir, model := filepath.Join(root, "D"), filepath.Join(root, "M")
	results := filepath.Join(root, "O", "r.csv")
	p := startRegcl(t, root, nil, append(append([]string{"train"}, killCfg...),
		"--device", "opencl", "--checkpoint-dir", dir, "--save", model, "--output", results)...)
	frac := 0.05 + 0.75*rng.Float64()
	_, where := killRun(t, p, ref, dir, frac)
	logKill(t, "OpenCL kill (SIGKILL at %.0f%% of an epoch): %s", 100*frac, where)
	if rows, _ := csvRows(results); len(rows) != 0 {
		t.Errorf("the killed run appended %d rows to the results CSV", len(rows))
	}
	args := []string{"train", "--resume", dir, "--save", model, "--output", results, "--device", "opencl"}
	if checkpoints(t, dir).path == "" { // killed before the first checkpoint was complete
		args = append(append([]string{"train"}, killCfg...), "--device", "opencl", "--checkpoint-dir", dir, "--save", model, "--output", results)
	}
	p = startRegcl(t, root, nil, args...)
	if exit := p.wait(); exit != 0 {
		t.Fatalf("the resumed OpenCL run failed (exit %d):\n%s", exit, p.stderr.String())
	}
	rel, worst, err := compareModelsRel(model, ref.model)
	if err != nil {
		t.Fatal(err)
	}
	if rel == 0 {
		worst = "every tensor bit-identical"
	}
	logKill(t, "OpenCL final model vs the uninterrupted OpenCL run: largest ‖Δ‖/‖W‖ %.3g (%s)", rel, worst)
	if rel != 0 {
		t.Errorf("the resumed OpenCL model differs from the uninterrupted one: ‖Δ‖/‖W‖ = %.3g in %s, want bit-identical", rel, worst)
	}
	if rows, err := csvRows(results); err != nil || len(rows) != 1 {
		t.Errorf("the results CSV holds %d rows (%v), want 1", len(rows), err)
	}
	checkKept(t, dir, train.KeepCheckpoints, "after the finishing run")
}
