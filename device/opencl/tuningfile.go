package opencl

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/regcl/regcl/internal/atomicfile"
	"github.com/regcl/regcl/internal/readfile"
	"github.com/regcl/regcl/kernels"
)

// The tuning file: what `regcl tune` found for one device, keyed by the
// device (platform, name, driver) and a hash of the kernel sources, so that
// a file measured for another device, another driver or other kernels is
// never applied. Its settings are validated against the kernel contract
// when read; a tuning file can only choose among candidates that passed the
// float64 oracle when they were tuned, and among valid settings when it is
// read.
//
//	{"format": "regcl-tuning", "version": 1,
//	 "key": {"platform": …, "device": …, "driver": …, "sources": …},
//	 "tuning": {"gemm": "gemm_cpu", "ops": {…}, "matmul": {…}, "shapes": {"NN/128x256x1024": {…}}},
//	 "tuned": "2026-12-01T…", "report": […]}

// TuningFormat and TuningVersion identify tuning files.
const (
	TuningFormat  = "regcl-tuning"
	TuningVersion = 1
	// MaxTuningFileSize bounds what is read: a file lists a few dozen shapes.
	MaxTuningFileSize = 1 << 20
	// TuningEnv names a tuning file to use instead of the cached one.
	TuningEnv = "REGCL_TUNING"
)

// TuningKey says what a tuning was measured on.
type TuningKey struct {
	Platform string `json:"platform"`
	Device   string `json:"device"`
	Driver   string `json:"driver"`
	Sources  string `json:"sources"` // kernels.SourceHash()
}

// KeyOf is the key of a device with the kernels of this build.
func KeyOf(info Info) TuningKey {
	return TuningKey{Platform: info.PlatformName, Device: info.Name, Driver: info.Driver, Sources: kernels.SourceHash()}
}

// TuningFile is the content of a tuning file.
type TuningFile struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	Key     TuningKey       `json:"key"`
	Tuning  Tuning          `json:"tuning"`
	Tuned   time.Time       `json:"tuned"`
	Report  json.RawMessage `json:"report,omitempty"` // the tuner's table, for people
}

// TuningPath is where the tuning of a device is cached: the user cache
// directory, one file per device key.
func TuningPath(info Info) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory for the tuning file: %w", err)
	}
	k := KeyOf(info)
	name := unsafeName.ReplaceAllString(k.Platform+"-"+k.Device, "_")
	if len(name) > 80 {
		name = name[:80]
	}
	sum := fmt.Sprintf("%x", sha256Sum(k.Platform+"\x00"+k.Device+"\x00"+k.Driver))[:10]
	return filepath.Join(dir, "regcl", "tuning", name+"-"+sum+".json"), nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// ErrStaleTuning marks a tuning file made for another device, driver or
// kernel sources.
var ErrStaleTuning = errors.New("stale tuning file")

// ReadTuning reads a tuning file and checks it for the device: the format,
// the key (another device, driver or kernel sources make it stale) and
// every setting against the kernel contract.
func ReadTuning(path string, info Info) (Tuning, error) {
	b, err := readfile.Max(path, MaxTuningFileSize, "a tuning file")
	if err != nil {
		return Tuning{}, err
	}
	var tf TuningFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tf); err != nil {
		return Tuning{}, fmt.Errorf("%s: not a regcl tuning file: %v", path, err)
	}
	if tf.Format != TuningFormat {
		return Tuning{}, fmt.Errorf("%s: not a regcl tuning file (format %q)", path, tf.Format)
	}
	if tf.Version != TuningVersion {
		return Tuning{}, fmt.Errorf("%s: tuning file version %d (this regcl reads %d)", path, tf.Version, TuningVersion)
	}
	want := KeyOf(info)
	switch {
	case tf.Key.Platform != want.Platform || tf.Key.Device != want.Device:
		return Tuning{}, fmt.Errorf("%s: %w: made for %s (%s), this device is %s (%s)", path, ErrStaleTuning, tf.Key.Device, tf.Key.Platform, want.Device, want.Platform)
	case tf.Key.Driver != want.Driver:
		return Tuning{}, fmt.Errorf("%s: %w: made with driver %s, this device has %s; run regcl tune again", path, ErrStaleTuning, tf.Key.Driver, want.Driver)
	case tf.Key.Sources != want.Sources:
		return Tuning{}, fmt.Errorf("%s: %w: made for kernel sources %s, this regcl has %s; run regcl tune again", path, ErrStaleTuning, tf.Key.Sources, want.Sources)
	}
	if err := tf.Tuning.Validate(info); err != nil {
		return Tuning{}, fmt.Errorf("%s: %v", path, err)
	}
	tf.Tuning.Source = path
	return tf.Tuning, nil
}

// WriteTuning writes a tuning file for the device atomically.
func WriteTuning(path string, info Info, t Tuning, report any) error {
	tf := TuningFile{Format: TuningFormat, Version: TuningVersion, Key: KeyOf(info), Tuning: t, Tuned: time.Now().UTC().Truncate(time.Second)}
	if report != nil {
		r, err := json.Marshal(report)
		if err != nil {
			return err
		}
		tf.Report = r
	}
	b, err := json.MarshalIndent(tf, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

// TuningFor returns the tuning a device is opened with: the file pinned
// (a --tuning flag, else $REGCL_TUNING), else the cached file of `regcl
// tune`, else the device's defaults. A file that cannot be used — stale,
// corrupt, or pinned but missing — is ignored with one line on log saying
// why; the device then runs untuned.
func TuningFor(info Info, pinned string, log io.Writer) Tuning {
	path := tuningFile(info, pinned)
	if path == "" {
		return DefaultTuning(info) // not tuned: nothing to say
	}
	t, err := ReadTuning(path, info)
	if err != nil {
		if log != nil {
			fmt.Fprintf(log, "tuning file ignored, running untuned: %v\n", err)
		}
		return DefaultTuning(info)
	}
	return t
}

// tuningFile is the tuning file a device would be opened with: pinned,
// else $REGCL_TUNING, else the cached file where it exists; "" when none.
func tuningFile(info Info, pinned string) string {
	if pinned == "" {
		pinned = os.Getenv(TuningEnv)
	}
	if pinned != "" {
		return pinned
	}
	p, err := TuningPath(info)
	if err != nil {
		return ""
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// TuningStatus says whether a device is tuned, for regcl devices: "tuned
// (PATH)", "untuned", or why its tuning file cannot be used.
func TuningStatus(info Info, pinned string) string {
	path := tuningFile(info, pinned)
	if path == "" {
		return "untuned"
	}
	if _, err := ReadTuning(path, info); err != nil {
		if errors.Is(err, ErrStaleTuning) {
			return "stale tuning, ignored: " + err.Error()
		}
		return "tuning ignored: " + err.Error()
	}
	return "tuned (" + path + ")"
}
