package readfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMax(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("0123456789"), 0o644)
	if b, err := Max(p, 10, "a test file"); err != nil || string(b) != "0123456789" {
		t.Errorf("at the bound: %q, %v", b, err)
	}
	if _, err := Max(p, 9, "a test file"); err == nil || !strings.Contains(err.Error(), "10 bytes, more than the 9 a test file may have") {
		t.Errorf("one past the bound: %v", err)
	}
	// A pipe (no size known beforehand) is read up to the bound and cut one
	// byte past it.
	stream := func(data string, max int64) ([]byte, error) {
		r, w, _ := os.Pipe()
		defer r.Close()
		go func() { w.Write([]byte(data)); w.Close() }()
		return Max("/dev/fd/"+itoa(int(r.Fd())), max, "a test file")
	}
	if b, err := stream("01234", 5); err != nil || string(b) != "01234" {
		t.Errorf("a stream at the bound: %q, %v", b, err)
	}
	if _, err := stream("012345", 5); err == nil || !strings.Contains(err.Error(), "more than the 5 bytes") {
		t.Errorf("a stream one byte past the bound: %v", err)
	}
	if _, err := Max(filepath.Join(dir, "missing"), 5, "x"); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v", err)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
