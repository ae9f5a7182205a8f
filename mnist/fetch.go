package mnist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Mirrors are the base URLs Fetch downloads from, tried in order: the ones
// Keras and torchvision use. Each file is at base + File.Name.
var Mirrors = []string{
	"https://storage.googleapis.com/cvdf-datasets/mnist/",
	"https://ossci-datasets.s3.amazonaws.com/mnist/",
}

// HTTPClient is the client Fetch downloads with.
var HTTPClient = http.DefaultClient

// Fetch puts verified copies of the four files into dst (CacheDir when dst
// is empty). Files already there with the right SHA-256 are kept. The
// others are copied from ModuleDir when it holds them, else downloaded from
// Mirrors, trying each in turn. Every copy is written to a temporary file in
// dst, synced, and renamed to its final name only once its SHA-256 matches;
// a mismatch deletes the temporary file. Progress bars and messages go to
// progress unless it is nil or io.Discard.
func Fetch(ctx context.Context, dst string, progress io.Writer) error {
	if dst == "" {
		var err error
		if dst, err = CacheDir(); err != nil {
			return err
		}
	}
	if progress == io.Discard {
		progress = nil
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	for _, f := range Files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("mnist: fetch: %w", err)
		}
		final := filepath.Join(dst, f.Name)
		if h, err := hashFile(final); err == nil && h == f.SHA256 {
			say(progress, "%s: already in %s, SHA-256 ok\n", f.Name, dst)
			continue
		}
		if err := fetchOne(ctx, dst, f, progress); err != nil {
			return err
		}
	}
	// Make the renames durable; not every system can sync a folder.
	if d, err := os.Open(dst); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// fetchOne installs f into dst from the first source that yields the right
// bytes.
func fetchOne(ctx context.Context, dst string, f File, progress io.Writer) error {
	var failures []error
	if md, err := ModuleDir(); err == nil {
		src := filepath.Join(md, f.Name)
		if fi, err := os.Stat(src); err == nil && fi.Mode().IsRegular() {
			err := copyFrom(ctx, dst, f, src, fi.Size(), progress)
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return err
			}
			failures = append(failures, err)
		}
	}
	for _, base := range Mirrors {
		url := base + f.Name
		err := download(ctx, dst, f, url, progress)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		say(progress, "%v\n", err)
		failures = append(failures, err)
	}
	if len(failures) == 0 {
		return fmt.Errorf("mnist: cannot fetch %s: no module cache copy and no mirrors", f.Name)
	}
	return &fetchError{f.Name, failures}
}

// fetchError lists why each source of a file failed.
type fetchError struct {
	name string
	errs []error
}

func (e *fetchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mnist: cannot fetch %s from any source:", e.name)
	for _, err := range e.errs {
		b.WriteString("\n\t")
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *fetchError) Unwrap() []error { return e.errs }

func copyFrom(ctx context.Context, dst string, f File, src string, size int64, progress io.Writer) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	defer in.Close()
	say(progress, "%s: copying from the module cache %s\n", f.Name, filepath.Dir(src))
	return install(ctx, dst, f, src, in, size, progress)
}

func download(ctx context.Context, dst string, f File, url string, progress io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	resp, err := HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mnist: %s: HTTP %s", url, resp.Status)
	}
	say(progress, "%s: downloading %s\n", f.Name, url)
	size := resp.ContentLength
	if size < 0 {
		size = f.Size
	}
	return install(ctx, dst, f, url, resp.Body, size, progress)
}

// install copies r into a temporary file in dst, syncs it, checks its
// SHA-256 and renames it to f.Name. from names the source in errors.
func install(ctx context.Context, dst string, f File, from string, r io.Reader, size int64, progress io.Writer) (err error) {
	tmp, err := os.CreateTemp(dst, "."+f.Name+".*.tmp")
	if err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	h := sha256.New()
	w := io.MultiWriter(tmp, h)
	var bar *progressbar.ProgressBar
	if progress != nil {
		max := size
		if max <= 0 {
			max = -1
		}
		bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(progress),
			progressbar.OptionSetDescription(f.Name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetSpinnerChangeInterval(0),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(progress) }),
		)
		w = io.MultiWriter(tmp, h, bar)
	}
	// A file larger than the canonical one is wrong: stop reading there
	// rather than fill the disk.
	limit := int64(1 << 30)
	if f.Size > 0 {
		limit = f.Size
	}
	n, err := io.Copy(w, io.LimitReader(&ctxReader{ctx, r}, limit+1))
	if bar != nil {
		if err == nil {
			bar.Finish()
		} else {
			bar.Exit()
		}
	}
	if err != nil {
		return fmt.Errorf("mnist: %s: %w", from, err)
	}
	if n > limit {
		return fmt.Errorf("mnist: %s: larger than the %d bytes of the canonical %s; the copy was discarded", from, limit, f.Name)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fileErr(from, ErrHashMismatch, "expected %s, got %s for %s; the copy was discarded", f.SHA256, got, f.Name)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dst, f.Name)); err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	return nil
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
