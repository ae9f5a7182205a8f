package study

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/regcl/regcl/internal/atomicfile"
	"github.com/regcl/regcl/internal/readfile"
	"github.com/regcl/regcl/train"
)

// A run is claimed before it is trained: the claim is the file
// running/<id>, made atomically (a complete file hard-linked to its name,
// which fails when the name exists, on local and network file systems
// alike), holding its Owner. Whoever makes the file trains the run; every
// other process sees the claim and leaves the run alone.
//
// A claim whose owner is gone is stale, and the next process to want the
// run takes it over (and so resumes the run from its checkpoint). On the
// owner's host (and kernel boot, and PID namespace) gone means that its PID
// is no longer running, or runs another process (its start time differs).
// From another host (or container) the PID cannot be asked: the owner
// touches its claim every ClaimHeartbeat, and a claim untouched for
// ClaimExpiry is stale. Stale claims are removed only under an exclusive
// lock (flock of running/.lock), after checking again that the file is the
// same stale claim, so that a claim just made by another process is never
// removed.

// ClaimHeartbeat is how often an owner touches its claim; ClaimExpiry is how
// long a claim from another host may go untouched before it counts as stale
// (ten heartbeats: a slow or briefly stalled owner keeps its claim; a
// network file system's attribute cache, a minute at most, cannot age it).
var (
	ClaimHeartbeat = time.Minute
	ClaimExpiry    = 10 * time.Minute
)

// MaxClaim bounds a claim file (one holds a few short fields).
const MaxClaim = 4 << 10

// Owner is the process that holds a claim.
type Owner struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"` // when it claimed the run
	// BootID, PIDNS and ProcStart (Linux) tell whether PID on Host is still
	// the owner: the same kernel boot, the same PID namespace, and the
	// process's start time (field 22 of /proc/PID/stat).
	BootID    string `json:"boot_id,omitempty"`
	PIDNS     string `json:"pid_ns,omitempty"`
	ProcStart string `json:"proc_start,omitempty"`
	Token     string `json:"token"` // unique to the claim

	touched time.Time // the claim file's modification time: its last heartbeat
}

func (o *Owner) String() string {
	if o.PID == 0 {
		return "an unknown process"
	}
	return fmt.Sprintf("pid %d on %s since %s", o.PID, o.Host, o.Started.Local().Format("2006-01-02 15:04:05"))
}

// Claim is the outcome of Dir.Claim.
type Claim struct {
	// Held: this process now holds the claim, and must call Release when the
	// run is finished or stopped.
	Held    bool
	Release func() // removes the claim (idempotent); a no-op when not Held
	// Owner is who holds the claim when it is not Held.
	Owner *Owner
	// Stale, when Held, is the owner of the stale claim this one replaced
	// (nil when there was none): the run continues from its checkpoint.
	Stale *Owner
}

// ClaimPath is the claim of cfg's run.
func (d *Dir) ClaimPath(cfg train.Config) string { return d.join(RunningDir, cfg.ID()) }

// Claim claims cfg's run for this process. It is not an error that another
// live process holds it (Held is false, Owner says who); a stale claim is
// taken over (Stale says whose it was). The lanes of a batched computation
// claim each of their runs.
func (d *Dir) Claim(cfg train.Config) (Claim, error) {
	path := d.ClaimPath(cfg)
	me, err := self()
	if err != nil {
		return Claim{}, err
	}
	b, err := json.Marshal(me)
	if err != nil {
		return Claim{}, err
	}
	b = append(b, '\n')
	tmp := filepath.Join(filepath.Dir(path), "."+cfg.ID()+"."+me.Token+".tmp")
	// Another process may remove running/ when it is empty (Dir.Run's end).
	err = atomicfile.InFolder(filepath.Dir(path), func() error { return os.WriteFile(tmp, b, 0o644) })
	if err != nil {
		return Claim{}, fmt.Errorf("claiming run %s: %w", cfg.ID(), err)
	}
	defer os.Remove(tmp)
	var stale *Owner
	for attempt := 0; attempt < 5; attempt++ {
		err := create(tmp, path, b)
		if err == nil {
			return Claim{Held: true, Release: d.hold(path, me), Stale: stale}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return Claim{}, fmt.Errorf("claiming run %s: %w", cfg.ID(), err)
		}
		raw, o, err := readClaim(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released in the meantime
		}
		if err != nil {
			return Claim{}, fmt.Errorf("claiming run %s: %w", cfg.ID(), err)
		}
		if o.live(me) {
			return Claim{Release: func() {}, Owner: o}, nil
		}
		if err := d.removeStale(path, raw, me); err != nil {
			return Claim{}, fmt.Errorf("run %s has a stale claim %s (%s, gone), which cannot be taken over: %w; remove it by hand",
				cfg.ID(), path, o, err)
		}
		stale = o
	}
	return Claim{}, fmt.Errorf("claiming run %s: %s keeps changing hands", cfg.ID(), path)
}

// create gives the complete file tmp the name path, failing with
// fs.ErrExist when path exists. Where the file system has no hard links, it
// creates path exclusively and writes b into it.
func create(tmp, path string, b []byte) error {
	err := os.Link(tmp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	f, err2 := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err2 != nil {
		if errors.Is(err2, fs.ErrExist) {
			return err2
		}
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// hold starts the heartbeat of the claim at path and returns its release.
func (d *Dir) hold(path string, me Owner) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(ClaimHeartbeat)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, o, err := readClaim(path); err != nil || o.Token != me.Token {
					return // no longer ours: nothing to keep alive
				}
				now := time.Now()
				os.Chtimes(path, now, now)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			if _, o, err := readClaim(path); err == nil && o.Token == me.Token {
				os.Remove(path)
			}
			os.Remove(filepath.Dir(path)) // only when empty (Claim makes it again when it must)
		})
	}
}

// removeStale removes the claim at path if it still holds raw and is still
// stale, under the folder's takeover lock.
func (d *Dir) removeStale(path string, raw []byte, me Owner) error {
	lockPath := filepath.Join(filepath.Dir(path), ".lock")
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", lockPath, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	cur, o, err := readClaim(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(cur, raw) || o.live(me) {
		return nil // replaced, or touched again: the caller looks anew
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// readClaim reads the claim at path: its bytes and its owner. A claim this
// version cannot parse (an older one's "host pid time" marker, or another
// tool's file) yields what can be read of it.
func readClaim(path string) ([]byte, *Owner, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	raw, err := readfile.Max(path, MaxClaim, "a claim")
	if err != nil {
		return nil, nil, err
	}
	o := &Owner{}
	if json.Unmarshal(raw, o) != nil {
		o = &Owner{}
		var started string
		fmt.Sscan(string(raw), &o.Host, &o.PID, &started)
		o.Started, _ = time.Parse(time.RFC3339, started)
	}
	o.touched = st.ModTime()
	return raw, o, nil
}

// live reports whether the claim's owner is still there, as me sees it.
func (o *Owner) live(me Owner) bool {
	if o.Host == me.Host && o.PID > 0 && (o.BootID == me.BootID || o.BootID == "") && (o.PIDNS == me.PIDNS || o.PIDNS == "") {
		// A process here (an older version's marker says no more than the
		// host): ask the kernel.
		if err := syscall.Kill(o.PID, 0); errors.Is(err, syscall.ESRCH) {
			return false
		}
		if o.ProcStart != "" {
			if s, err := procStart(o.PID); err == nil && s != o.ProcStart {
				return false // the PID now belongs to another process
			}
		}
		return true
	}
	if o.Host == me.Host && o.BootID != "" && me.BootID != "" && o.BootID != me.BootID {
		return false // this host has rebooted since
	}
	return time.Since(o.touched) < ClaimExpiry
}

var (
	selfOnce sync.Once
	selfInfo Owner
	selfErr  error
)

// self is this process as a claim's owner, with a fresh token and time.
func self() (Owner, error) {
	selfOnce.Do(func() {
		if selfInfo.Host, selfErr = os.Hostname(); selfErr != nil {
			return
		}
		selfInfo.PID = os.Getpid()
		if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
			selfInfo.BootID = strings.TrimSpace(string(b))
		}
		selfInfo.PIDNS, _ = os.Readlink("/proc/self/ns/pid")
		selfInfo.ProcStart, _ = procStart(selfInfo.PID)
	})
	if selfErr != nil {
		return Owner{}, fmt.Errorf("claiming a run: %w", selfErr)
	}
	me := selfInfo
	var tok [8]byte
	rand.Read(tok[:])
	me.Token = hex.EncodeToString(tok[:])
	me.Started = time.Now().UTC().Truncate(time.Second)
	return me, nil
}

// procStart is the start time of process pid (field 22 of /proc/pid/stat,
// in clock ticks since boot).
func procStart(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parentheses
	if i < 0 {
		return "", fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	return f[19], nil // fields 3.. follow the name; field 22 is starttime
}

// Claimed returns the live owner of cfg's claim; ok is false when the run is
// unclaimed or its claim is stale.
func (d *Dir) Claimed(cfg train.Config) (owner *Owner, ok bool) {
	me, err := self()
	if err != nil {
		return nil, false
	}
	_, o, err := readClaim(d.ClaimPath(cfg))
	if err != nil || !o.live(me) {
		return nil, false
	}
	return o, true
}
