package readfile

import (
	"fmt"
	"io"
	"os"
)

// Max reads the file at path, refusing (before reading it, where the size
// is known) one larger than max bytes; what names the kind of file for the
// error, e.g. "a grid".
func Max(path string, max int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d %s may have", path, st.Size(), max, what)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: more than the %d bytes %s may have", path, max, what)
	}
	return b, nil
}
