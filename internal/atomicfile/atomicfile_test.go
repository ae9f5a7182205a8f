package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesWholeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.txt")
	if err := Write(p, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("second, longer")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "second, longer" {
		t.Fatalf("read %q, %v", b, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("%d entries in the folder, want only the file (no temporary left)", len(ents))
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestWriteFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d")
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("x")); err == nil { // renaming a file over a folder fails
		t.Fatal("writing over a folder succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("%d entries left, want only the folder", len(ents))
	}
}

// TestInFolderMakesTheFolderAgain: a folder removed by another process
// between InFolder's making it and the create is made again: create runs
// until it succeeds (here the third time), at most 5 times while the
// folder keeps vanishing, and once for any other error.
func TestInFolderMakesTheFolderAgain(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "checkpoints")
	dir := filepath.Join(parent, "run")
	calls := 0
	vanishing := func(times int) func() error {
		return func() error {
			calls++
			if calls <= times {
				if err := os.RemoveAll(parent); err != nil { // the other process, emptying and removing it
					t.Fatal(err)
				}
			}
			return os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
		}
	}
	if err := InFolder(dir, vanishing(2)); err != nil || calls != 3 {
		t.Errorf("folder removed twice: err %v after %d calls, want nil after 3", err, calls)
	}
	calls = 0
	if err := InFolder(dir, vanishing(100)); !errors.Is(err, fs.ErrNotExist) || calls != 5 {
		t.Errorf("folder removed every time: err %v after %d calls, want ErrNotExist after 5", err, calls)
	}
	calls = 0
	other := errors.New("disk full")
	if err := InFolder(dir, func() error { calls++; return other }); err != other || calls != 1 {
		t.Errorf("another error: %v after %d calls, want it after 1", err, calls)
	}
}
