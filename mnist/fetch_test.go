package mnist

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// mirror is a test server with two mirrors: /down/ answers 404 to
// everything, /good/ serves files from a map. While serving, it checks that
// the download is going to a temporary file and not to the final name.
type mirror struct {
	t     *testing.T
	dst   string
	files map[string][]byte

	mu       sync.Mutex
	requests []string
	checked  int // downloads during which the temp-then-rename check ran
}

func (m *mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	m.requests = append(m.requests, r.URL.Path)
	m.mu.Unlock()
	dir, name := filepath.Split(r.URL.Path)
	b, ok := m.files[name]
	if dir != "/good/" || !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	half := len(b) / 2
	w.Write(b[:half])
	w.(http.Flusher).Flush()
	// Wait until the client has written the first half somewhere: it must
	// be a temporary file in dst, and the final name must not exist yet.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tmps, _ := filepath.Glob(filepath.Join(m.dst, "*.tmp"))
		var size int64
		for _, p := range tmps {
			if fi, err := os.Stat(p); err == nil {
				size += fi.Size()
			}
		}
		if size >= int64(half) {
			break
		}
		if time.Now().After(deadline) {
			m.t.Errorf("%s: after 5s no temporary file in %s holds the first %d bytes", name, m.dst, half)
			break
		}
		time.Sleep(time.Millisecond)
	}
	if old, err := os.ReadFile(filepath.Join(m.dst, name)); err == nil && bytes.HasPrefix(old, b[:half]) {
		m.t.Errorf("%s: the download is being written under the final name", name)
	}
	m.mu.Lock()
	m.checked++
	m.mu.Unlock()
	w.Write(b[half:])
}

func (m *mirror) reqs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.requests...)
}

func (m *mirror) nchecked() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checked
}

func (m *mirror) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests, m.checked = nil, 0
}

func newMirror(t *testing.T, dst string, files map[string][]byte) (*mirror, *httptest.Server) {
	m := &mirror{t: t, dst: dst, files: files}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	saved := Mirrors
	t.Cleanup(func() { Mirrors = saved })
	Mirrors = []string{srv.URL + "/down/", srv.URL + "/good/"}
	return m, srv
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func canonicalNames() []string {
	var names []string
	for _, f := range Files {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

func TestFetchDownload(t *testing.T) {
	isolate(t) // empty module cache: Fetch must download
	data := fakeMNIST(t)
	useFiles(t, data)
	dst := filepath.Join(t.TempDir(), "new", "folder")
	served := map[string][]byte{}
	for i, f := range Files {
		served[f.Name] = data[i]
	}
	m, _ := newMirror(t, dst, served)

	var progress bytes.Buffer
	if err := Fetch(context.Background(), dst, &progress); err != nil {
		t.Fatal(err)
	}
	if got, want := dirNames(t, dst), canonicalNames(); !slices.Equal(got, want) {
		t.Errorf("dst holds %v, want %v", got, want)
	}
	for i, f := range Files {
		b, err := os.ReadFile(filepath.Join(dst, f.Name))
		if err != nil || !bytes.Equal(b, data[i]) {
			t.Errorf("%s: %v, content equal %v", f.Name, err, bytes.Equal(b, data[i]))
		}
	}
	// Each file was tried at /down/ first, then /good/.
	if reqs := m.reqs(); len(reqs) != 8 || m.nchecked() != 4 {
		t.Errorf("requests %v, %d checked downloads; want 8 requests, 4 checked", reqs, m.nchecked())
	}
	for i, r := range m.reqs() {
		if want := []string{"/down/", "/good/"}[i%2] + Files[i/2].Name; r != want {
			t.Errorf("request %d is %s, want %s", i, r, want)
		}
	}
	if !strings.Contains(progress.String(), Files[0].Name) {
		t.Errorf("progress output %q does not name the files", progress.String())
	}
	// The data is usable.
	d, err := Load(Options{Dir: dst})
	if err != nil {
		t.Fatal(err)
	}
	checkFake(t, d)

	// A second fetch finds everything in place and asks for nothing.
	m.reset()
	if err := Fetch(context.Background(), dst, nil); err != nil {
		t.Fatal(err)
	}
	if reqs := m.reqs(); len(reqs) != 0 {
		t.Errorf("second fetch made requests %v", reqs)
	}
}

func TestFetchBadHash(t *testing.T) {
	isolate(t)
	data := fakeMNIST(t)
	useFiles(t, data)
	dst := t.TempDir()
	served := map[string][]byte{}
	for i, f := range Files {
		served[f.Name] = data[i]
	}
	bad := gz(t, labelsIDX(3, 1))
	served[Files[1].Name] = bad
	m, srv := newMirror(t, dst, served)
	// Both mirrors serve the bad bytes.
	Mirrors = []string{srv.URL + "/good/", srv.URL + "/good/"}

	err := Fetch(context.Background(), dst, io.Discard)
	wantErr(t, err, ErrHashMismatch, Files[1].Name, srv.URL+"/good/"+Files[1].Name, "expected "+Files[1].SHA256, "got "+hashBytes(bad), "discarded")
	if _, err := os.Stat(filepath.Join(dst, Files[1].Name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file with the bad hash exists under the real name (stat: %v)", err)
	}
	// The first file came through; no temporary file is left.
	if got := dirNames(t, dst); !slices.Equal(got, []string{Files[0].Name}) {
		t.Errorf("dst holds %v, want only %s", got, Files[0].Name)
	}
	if n := m.nchecked(); n != 3 {
		t.Errorf("%d checked downloads, want 3 (one good, the bad one twice)", n)
	}
}

// A file present with a wrong hash is replaced; one with the right hash is kept.
func TestFetchReplacesBadFile(t *testing.T) {
	isolate(t)
	data := fakeMNIST(t)
	useFiles(t, data)
	dst := t.TempDir()
	writeSet(t, dst, [][]byte{data[0], []byte("not mnist"), data[2], data[3]})
	served := map[string][]byte{}
	for i, f := range Files {
		served[f.Name] = data[i]
	}
	m, _ := newMirror(t, dst, served)
	if err := Fetch(context.Background(), dst, nil); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/down/" + Files[1].Name, "/good/" + Files[1].Name}; !slices.Equal(m.reqs(), want) {
		t.Errorf("requests %v, want %v", m.reqs(), want)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, Files[1].Name)); !bytes.Equal(b, data[1]) {
		t.Error("the bad file was not replaced")
	}
}

// When the module cache holds the files, Fetch copies them from there and
// does not touch the network.
func TestFetchFromModuleCache(t *testing.T) {
	_, module := isolate(t)
	data := fakeMNIST(t)
	useFiles(t, data)
	writeSet(t, module, data)
	for _, f := range Files { // the module cache is read-only
		os.Chmod(filepath.Join(module, f.Name), 0o444)
	}
	dst := t.TempDir()
	m, _ := newMirror(t, dst, nil)
	if err := Fetch(context.Background(), dst, nil); err != nil {
		t.Fatal(err)
	}
	if reqs := m.reqs(); len(reqs) != 0 {
		t.Errorf("requests %v, want none", reqs)
	}
	for i, f := range Files {
		p := filepath.Join(dst, f.Name)
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, data[i]) {
			t.Errorf("%s: %v, content equal %v", f.Name, err, bytes.Equal(b, data[i]))
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f.Name, fi.Mode().Perm())
		}
	}
}

func TestFetchAllSourcesFail(t *testing.T) {
	isolate(t)
	useFiles(t, fakeMNIST(t))
	dst := t.TempDir()
	_, srv := newMirror(t, dst, nil)
	err := Fetch(context.Background(), dst, nil)
	wantErr(t, err, nil, "cannot fetch "+Files[0].Name, srv.URL+"/down/"+Files[0].Name, srv.URL+"/good/"+Files[0].Name, "404")
	if got := dirNames(t, dst); len(got) != 0 {
		t.Errorf("dst holds %v after a failed fetch", got)
	}
}

func TestFetchCanceled(t *testing.T) {
	isolate(t)
	useFiles(t, fakeMNIST(t))
	dst := t.TempDir()
	newMirror(t, dst, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Fetch(ctx, dst, nil)
	wantErr(t, err, context.Canceled)
}
