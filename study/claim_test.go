package study

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/mnist/mnisttest"
	"github.com/regcl/regcl/train"
)

// writeClaim leaves a claim of cfg's run by o, touched at mtime.
func writeClaim(t *testing.T, d *Dir, cfg train.Config, o Owner, mtime time.Time) {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	p := d.ClaimPath(cfg)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// exitedPID is the PID of a process that has ended.
func exitedPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

// TestClaim: a claim is held by one owner at a time; released, it can be
// claimed again; a live owner's claim (this process, a running child, a
// fresh one from another host) is left alone; a stale one (a PID that has
// exited, a PID now running another process, an older version's marker of a
// dead PID, another host's claim untouched for ClaimExpiry) is taken over
// and says whose it was.
func TestClaim(t *testing.T) {
	d := Open(t.TempDir())
	cfg := configs(t, []string{"l1"}, 1)[0]
	me, err := self()
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Claim(cfg)
	if err != nil || !c.Held || c.Stale != nil {
		t.Fatalf("first claim: %+v, %v", c, err)
	}
	again, err := d.Claim(cfg)
	if err != nil || again.Held || again.Owner == nil || again.Owner.PID != os.Getpid() {
		t.Fatalf("a second claim of a held run: %+v, %v", again, err)
	}
	if o, ok := d.Claimed(cfg); !ok || o.PID != os.Getpid() {
		t.Errorf("Claimed: %v, %v", o, ok)
	}
	c.Release()
	c.Release() // twice is harmless
	if _, err := os.Stat(d.ClaimPath(cfg)); err == nil {
		t.Error("the released claim is still there")
	}
	if _, ok := d.Claimed(cfg); ok {
		t.Error("Claimed after the release")
	}
	if c, err = d.Claim(cfg); err != nil || !c.Held {
		t.Fatalf("claim after the release: %+v, %v", c, err)
	}
	c.Release()
	if ents, _ := os.ReadDir(d.Path()); len(ents) != 0 {
		t.Errorf("left behind after the release: %v", ents)
	}

	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Process.Kill()
	sleepStart, err := procStart(sleeper.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	here := func(pid int, start string) Owner {
		return Owner{Host: me.Host, PID: pid, BootID: me.BootID, PIDNS: me.PIDNS, ProcStart: start, Token: "t", Started: time.Now()}
	}
	old := time.Now().Add(-ClaimExpiry - time.Minute)
	for _, k := range []struct {
		name  string
		owner Owner
		raw   string // instead of owner
		mtime time.Time
		stale bool
	}{
		{"a running process here", here(sleeper.Process.Pid, sleepStart), "", old, false},
		{"a process here that has exited", here(exitedPID(t), "1"), "", time.Now(), true},
		{"this PID, now another process", here(os.Getpid(), "1"), "", time.Now(), true},
		{"a fresh claim from another host", Owner{Host: "elsewhere", PID: 1, Token: "t"}, "", time.Now(), false},
		{"another host's claim untouched for ClaimExpiry", Owner{Host: "elsewhere", PID: 1, Token: "t"}, "", old, true},
		{"another PID namespace's", Owner{Host: me.Host, PID: exitedPID(t), BootID: me.BootID, PIDNS: "pid:[1]", Token: "t"}, "", time.Now(), false},
		{"this host before a reboot", Owner{Host: me.Host, PID: os.Getpid(), BootID: "another-boot", PIDNS: me.PIDNS, Token: "t"}, "", time.Now(), true},
		{"an older version's marker of a dead PID", Owner{}, me.Host + " " + strconv.Itoa(exitedPID(t)) + " 2026-01-02T03:04:05Z\n", time.Now(), true},
		{"an unreadable claim, fresh", Owner{}, "garbage", time.Now(), false},
		{"an unreadable claim, untouched for ClaimExpiry", Owner{}, "garbage", old, true},
	} {
		if k.raw != "" {
			p := d.ClaimPath(cfg)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(k.raw), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, k.mtime, k.mtime)
		} else {
			writeClaim(t, d, cfg, k.owner, k.mtime)
		}
		c, err := d.Claim(cfg)
		if err != nil {
			t.Fatalf("%s: %v", k.name, err)
		}
		switch {
		case c.Held != k.stale:
			t.Errorf("%s: held %v, want %v (owner %v)", k.name, c.Held, k.stale, c.Owner)
		case k.stale && c.Stale == nil:
			t.Errorf("%s: taken over without saying whose it was", k.name)
		case !k.stale && (c.Owner == nil || (k.raw == "" && c.Owner.PID != k.owner.PID)):
			t.Errorf("%s: the owner is %v, want pid %d", k.name, c.Owner, k.owner.PID)
		default:
			t.Logf("%s: held %v, owner %v, stale %v", k.name, c.Held, c.Owner, c.Stale)
		}
		c.Release()
		os.Remove(d.ClaimPath(cfg))
	}
	// The sleeper ends: its claim is taken over.
	writeClaim(t, d, cfg, here(sleeper.Process.Pid, sleepStart), time.Now())
	sleeper.Process.Kill()
	sleeper.Wait()
	if c, err := d.Claim(cfg); err != nil || !c.Held || c.Stale == nil || c.Stale.PID != sleeper.Process.Pid {
		t.Errorf("after its owner was killed: %+v, %v", c, err)
	} else {
		c.Release()
	}
}

// TestClaimRace: goroutines claiming one run at once, free or with a stale
// claim to take over, end with exactly one holder, every round.
func TestClaimRace(t *testing.T) {
	d := Open(t.TempDir())
	cfg := configs(t, []string{"l2"}, 1)[0]
	me, _ := self()
	const rounds, racers = 30, 8
	for r := range rounds {
		stale := r%2 == 1
		if stale {
			writeClaim(t, d, cfg, Owner{Host: me.Host, PID: exitedPID(t), BootID: me.BootID, PIDNS: me.PIDNS, Token: "dead"}, time.Now())
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			held  []Claim
			start = make(chan struct{})
		)
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, err := d.Claim(cfg)
				if err != nil {
					t.Error(err)
					return
				}
				if c.Held {
					mu.Lock()
					held = append(held, c)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(held) != 1 {
			t.Fatalf("round %d (stale claim %v): %d holders, want 1", r, stale, len(held))
		}
		held[0].Release()
	}
}

// TestClaimHeartbeat: a held claim is touched every ClaimHeartbeat, so that
// another host does not take it for stale.
func TestClaimHeartbeat(t *testing.T) {
	defer func(h time.Duration) { ClaimHeartbeat = h }(ClaimHeartbeat)
	ClaimHeartbeat = 20 * time.Millisecond
	d := Open(t.TempDir())
	cfg := configs(t, []string{"l1"}, 2)[1]
	c, err := d.Claim(cfg)
	if err != nil || !c.Held {
		t.Fatalf("%+v, %v", c, err)
	}
	defer c.Release()
	old := time.Now().Add(-time.Hour)
	os.Chtimes(d.ClaimPath(cfg), old, old)
	time.Sleep(200 * time.Millisecond)
	st, err := os.Stat(d.ClaimPath(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(st.ModTime()); age > time.Minute {
		t.Errorf("the claim was not touched: last %v ago", age.Round(time.Second))
	}
}

// TestRunClaims: a Run leaves alone a run another process holds (skipping
// it, or waiting for it and training it once its holder lets go without a
// record), and counts only what it trained.
func TestRunClaims(t *testing.T) {
	defer func(p time.Duration) { ClaimPoll = p }(ClaimPoll)
	ClaimPoll = 20 * time.Millisecond
	data := mnisttest.Real(t)
	cfgs := configs(t, []string{"l1", "dropout"}, 1)
	held := cfgs[0]

	t.Run("skip", func(t *testing.T) {
		d := Open(t.TempDir())
		c, err := d.Claim(held)
		if err != nil || !c.Held {
			t.Fatalf("%+v, %v", c, err)
		}
		defer c.Release()
		var log syncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a Run that waits for the held run
		defer cancel()
		n, err := d.Run(ctx, cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &log})
		out := log.String()
		if err != nil || n != 1 || d.Done(held) || !d.Done(cfgs[1]) {
			t.Fatalf("Run: %d trained, %v; the held run done: %v\n%s", n, err, d.Done(held), out)
		}
		for _, want := range []string{"l1+hidden=32 seed 1 is being trained by pid", "skipping it", "1 of 2 runs is being trained by other processes"} {
			if !strings.Contains(out, want) {
				t.Errorf("the log lacks %q:\n%s", want, out)
			}
		}
		if strings.Count(out, "[group ") != 1 {
			t.Errorf("want one run trained:\n%s", out)
		}
	})

	t.Run("wait", func(t *testing.T) {
		d := Open(t.TempDir())
		c, err := d.Claim(held)
		if err != nil || !c.Held {
			t.Fatalf("%+v, %v", c, err)
		}
		log := syncBuffer{}
		log.on = func(s string) {
			if strings.Contains(s, "test_loss") { // dropout's, the run it trains first
				c.Release() // the holder stops without a record
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a Run that never takes the released run
		defer cancel()
		n, err := d.Run(ctx, cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &log, WaitForClaimed: true})
		out := log.String()
		t.Logf("\n%s", out)
		if err != nil || n != 2 || !d.Done(held) {
			t.Fatalf("Run: %d trained, %v; want both\n%s", n, err, out)
		}
		if !strings.Contains(out, "waiting for it") {
			t.Errorf("the log does not say it waits:\n%s", out)
		}
	})
}
