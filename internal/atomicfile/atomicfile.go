package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// WriteDelay, when positive, pauses between writing the temporary file and
// renaming it. Tests set it (through REGCL_TEST_WRITE_DELAY in the command)
// to kill a process in the middle of a write.
var WriteDelay time.Duration

// InFolder makes the folder dir (and its parents) and runs create in it,
// again (up to 5 times in all) when either fails for a missing folder:
// another process may remove an empty parent of dir (a study's
// checkpoints/ or running/ when its last run there ends) between MkdirAll's
// making the parent and dir, or before create.
func InFolder(dir string, create func() error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			err = create()
		}
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	return err
}

// Write writes data to path atomically.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	var f *os.File
	err := InFolder(dir, func() (err error) {
		f, err = os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
		return err
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes 0600; results are meant to be shared
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	half := len(data) / 2
	if _, err = f.Write(data[:half]); err == nil {
		if WriteDelay > 0 {
			time.Sleep(WriteDelay)
		}
		_, err = f.Write(data[half:])
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // make the rename itself durable
		d.Sync()
		d.Close()
	}
	return nil
}
