package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readImages reads an images file as Load does without --no-verify's
// hash check (readFile), and returns its pixels and dimensions.
func readImages(path string) (px []uint8, n, rows, cols int, err error) {
	dims, data, err := readFile(path, imagesKind)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return data, dims[0], dims[1], dims[2], nil
}

// readLabels reads a labels file as Load does (readFile).
func readLabels(path string) ([]uint8, error) {
	_, data, err := readFile(path, labelsKind)
	return data, err
}

// parseLabels decodes a labels file held in memory, as Load decodes the
// bytes it hashed.
func parseLabels(name string, data []byte) ([]uint8, error) {
	_, labels, err := decode(name, bytes.NewReader(data), int64(len(data)), labelsKind)
	return labels, err
}

// imageOf is the pixels of image i of s.
func imageOf(s *Set, i int) []uint8 {
	sz := s.Rows * s.Cols
	return s.Images[i*sz : (i+1)*sz]
}

// idxHeader is an IDX header: magic number and sizes.
func idxHeader(magic uint32, dims ...uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return b
}

// imagesIDX is a raw images file of n rows×cols images whose pixels depend
// on seed.
func imagesIDX(n, rows, cols int, seed byte) []byte {
	b := idxHeader(ImagesMagic, uint32(n), uint32(rows), uint32(cols))
	for i := 0; i < n*rows*cols; i++ {
		b = append(b, byte(i*7)+seed)
	}
	return b
}

// labelsIDX is a raw labels file of n labels (i+seed) mod 10.
func labelsIDX(n int, seed byte) []byte {
	b := idxHeader(LabelsMagic, uint32(n))
	for i := 0; i < n; i++ {
		b = append(b, byte((i+int(seed))%10))
	}
	return b
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// fakeMNIST is a small data set in the canonical layout: 3 training and 2
// test items, gzipped, in the order of Files.
func fakeMNIST(t testing.TB) [][]byte {
	return [][]byte{
		gz(t, imagesIDX(3, Rows, Cols, 1)),
		gz(t, labelsIDX(3, 5)),
		gz(t, imagesIDX(2, Rows, Cols, 2)),
		gz(t, labelsIDX(2, 7)),
	}
}

// writeSet writes files (in the order of Files) into dir under the
// canonical names, creating dir. A nil entry is skipped.
func writeSet(t testing.TB, dir string, files [][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, b := range files {
		if b != nil {
			writeFile(t, dir, Files[i].Name, b)
		}
	}
}

// useFiles replaces Files for the test with entries whose hashes and sizes
// are those of data.
func useFiles(t testing.TB, data [][]byte) {
	t.Helper()
	saved := Files
	t.Cleanup(func() { Files = saved })
	fs := make([]File, len(saved))
	for i, f := range saved {
		fs[i] = File{Name: f.Name, SHA256: hashBytes(data[i]), Size: int64(len(data[i]))}
	}
	Files = fs
}

// isolate points every location at empty temporary folders: no --data, no
// REGCL_DATA, an empty cache, an empty module cache. It returns the cache
// folder and the module data folder (neither created).
func isolate(t *testing.T) (cache, module string) {
	t.Helper()
	t.Setenv(EnvVar, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOPATH", "")
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	module, err = ModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	return cache, module
}

// wantErr checks that err wraps kind and that its message contains each
// of the given strings.
func wantErr(t testing.TB, err, kind error, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", kind)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("error %q does not wrap %q", err, kind)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}
