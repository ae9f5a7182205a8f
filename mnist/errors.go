package mnist

import (
	"errors"
	"fmt"
)

// Kinds of failure. Every error this package returns about a file or a
// folder wraps one of these, so callers can test for them with errors.Is;
// the message itself names the file and says what is wrong.
var (
	// ErrBadMagic: the file does not start with the IDX magic number
	// expected for its kind (images or labels).
	ErrBadMagic = errors.New("bad magic number")
	// ErrBadShape: the dimensions in the IDX header are not those of
	// MNIST (N×28×28 images, N labels, N > 0).
	ErrBadShape = errors.New("wrong dimensions")
	// ErrBadLabel: a label is outside 0..9.
	ErrBadLabel = errors.New("label out of range")
	// ErrTruncated: the file ends before the header or the data it
	// declares is complete.
	ErrTruncated = errors.New("truncated")
	// ErrTrailing: the file holds bytes beyond the size the header declares,
	// or after the end of its gzip stream.
	ErrTrailing = errors.New("trailing garbage")
	// ErrCorrupt: the gzip stream is damaged (bad header, invalid deflate
	// data, or a CRC-32 or length mismatch in its trailer).
	ErrCorrupt = errors.New("corrupt gzip data")
	// ErrCountMismatch: an images file and its labels file hold different
	// numbers of items.
	ErrCountMismatch = errors.New("image and label counts differ")
	// ErrHashMismatch: a file's SHA-256 differs from the published one.
	ErrHashMismatch = errors.New("SHA-256 mismatch")
	// ErrMissing: a folder given explicitly (--data or REGCL_DATA) lacks
	// some of the four files, or does not exist.
	ErrMissing = errors.New("missing files")
	// ErrNotFound: no location holds all four files.
	ErrNotFound = errors.New("MNIST data not found")
)

// FileError reports a problem with one file (or, for downloads, one URL).
// Its message reads "mnist: PATH: KIND: details".
type FileError struct {
	Path   string // the file (or URL) concerned
	Kind   error  // one of the Err* values above
	Detail string // the full description, starting with the kind
	Cause  error  // the underlying error, if any (a gzip or I/O error)
}

func (e *FileError) Error() string { return "mnist: " + e.Path + ": " + e.Detail }

// Unwrap lets errors.Is and errors.As see both the kind and the cause.
func (e *FileError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// fileErr builds a FileError whose detail is "KIND: formatted text".
func fileErr(path string, kind error, format string, args ...any) *FileError {
	return &FileError{Path: path, Kind: kind, Detail: kind.Error() + ": " + fmt.Sprintf(format, args...)}
}

// withCause sets the underlying cause and returns e.
func (e *FileError) withCause(err error) *FileError {
	e.Cause = err
	return e
}
