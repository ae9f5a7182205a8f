package writable

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entries lists what a folder holds, to see that a check left nothing.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil && p != dir {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestChecks: each kind of unwritable path is refused with the reason, and
// writable ones pass; no check leaves a file or folder behind.
func TestChecks(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(root, "folder")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	before := entries(t, root)
	for _, c := range []struct {
		name string
		err  error
		want string // "" for no error
	}{
		{"new file in a new folder", File(filepath.Join(root, "a", "b", "r.csv"), true), ""},
		{"existing file, appended", File(file, true), ""},
		{"existing file, replaced", File(file, false), ""},
		{"new folder", Dir(filepath.Join(root, "x", "y")), ""},
		{"existing folder", Dir(folder), ""},
		{"a folder given as a file", File(folder, true), folder + " is a folder, not a file"},
		{"a file given as a folder", Dir(file), file + " is a file, not a folder"},
		{"a file as a parent", File(filepath.Join(file, "sub", "r.csv"), false), "cannot create folder " + filepath.Join(file, "sub") + ": " + file + " is a file, not a folder"},
		{"a file as the parent folder", Dir(filepath.Join(file, "sub")), "cannot create folder " + filepath.Join(file, "sub") + ": " + file + " is a file, not a folder"},
		{"under /proc", File("/proc/x/r.csv", true), "cannot create folder /proc/x: no such file or directory"},
		{"a folder under /proc", Dir("/proc/x/ck"), "cannot create folder /proc/x: no such file or directory"},
		{"a folder that takes no files", Dir("/proc/self"), "cannot write into /proc/self"},
		{"empty", Dir(""), "empty path"},
	} {
		switch {
		case c.want == "" && c.err != nil:
			t.Errorf("%s: %v", c.name, c.err)
		case c.want != "" && (c.err == nil || !strings.Contains(c.err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, c.err, c.want)
		default:
			t.Logf("%s: %v", c.name, c.err)
		}
	}
	if after := entries(t, root); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the checks left entries behind:\nbefore %q\nafter  %q", before, after)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Errorf("the checked file was changed: %q", b)
	}
}
