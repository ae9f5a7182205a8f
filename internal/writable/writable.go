package writable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// probePattern names the probe files (os.CreateTemp), removed at once.
const probePattern = ".regcl-probe-*"

// Dir checks that path is, or can be made, a folder that files can be
// written into: an existing one receives a probe file, removed at once; for
// a missing one, its nearest existing ancestor must be such a folder.
func Dir(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("%s is a file, not a folder", path)
	case err == nil:
		return probe(path)
	case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return err
	}
	return missing(path)
}

// File checks that path can be written as a file: replaced as a whole
// (atomically: a temporary file in its folder, then renamed), or, with
// appending set, appended to. path must not be a folder; its folder must be
// writable (Dir), and an existing file must open for writing when appending.
// Nothing is written to the file.
func File(path string, appending bool) error {
	if path == "" {
		return errors.New("empty path")
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s is a folder, not a file", path)
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%v)", path, st.Mode().Type())
	case err == nil && appending:
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		f.Close()
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return err
	}
	return Dir(filepath.Dir(path))
}

// probe creates and removes a file in the folder dir.
func probe(dir string) error {
	f, err := os.CreateTemp(dir, probePattern)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot write into %s: %w", dir, pe.Err)
		}
		return fmt.Errorf("cannot write into %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("cannot remove a file from %s: %w", dir, err)
	}
	return nil
}

// missing checks that the missing folder path can be made: its nearest
// existing ancestor must be a folder that files can be written into (making
// a folder takes the same permission as making a file). Nothing is made but
// a probe file in that ancestor, removed at once, so that processes checking
// the same new folder at once cannot trip over each other's folders.
func missing(path string) error {
	child := filepath.Clean(path) // the folder to make inside the ancestor
	for {
		parent := filepath.Dir(child)
		st, err := os.Stat(parent)
		switch {
		case err == nil && !st.IsDir():
			return fmt.Errorf("cannot create folder %s: %s is a file, not a folder", child, parent)
		case err == nil:
			if err := probe(parent); err != nil {
				var pe *fs.PathError
				if errors.As(errors.Unwrap(err), &pe) {
					err = pe.Err
				} else if u := errors.Unwrap(err); u != nil {
					err = u
				}
				return fmt.Errorf("cannot create folder %s: %w", child, err)
			}
			return nil
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			if parent == child {
				return fmt.Errorf("cannot create folder %s: no existing folder above it", path)
			}
			child = parent
		default:
			return fmt.Errorf("cannot create folder %s: %w", child, err)
		}
	}
}
