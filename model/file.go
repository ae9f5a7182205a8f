package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/regcl/regcl/internal/atomicfile"
)

// The model file format, version 1. All integers and floats are little-endian.
//
//	offset  size  field
//	0       8     magic "REGCL\x00MF"
//	8       4     version (uint32) = 1
//	12      4     header length H (uint32), at most MaxHeader
//	16      H     header: JSON {"kind", "config", "meta", "tensors": [{"name", "shape"}]}
//	16+H    4·Σn  tensor data: each tensor's elements as float32, in header order
//	end−32  32    SHA-256 of every byte before it
//
// kind is "model" (a trained network: `regcl train --save`) or "checkpoint"
// (a network with its optimizer state: `--checkpoint-dir`); meta is free JSON
// for the layer that wrote the file (training configuration, history, step).
// A reader checks, in order: magic, version, header bounds, checksum, header
// JSON, tensor sizes against the data; any failure is an error naming the
// file and what is wrong.
const (
	FileVersion = 1
	MaxHeader   = 1 << 20 // 1 MiB: a header lists a few tensors, so larger means a corrupt length
	fileMagic   = "REGCL\x00MF"
	fixedHead   = 16
	sumLen      = sha256.Size
)

// FileTensor is one named array in a model file.
type FileTensor struct {
	Name  string    `json:"name"`
	Shape []int     `json:"shape"`
	Data  []float32 `json:"-"`
}

// File is the content of a model or checkpoint file.
type File struct {
	Kind    string          `json:"kind"`
	Config  Config          `json:"config"`
	Meta    json.RawMessage `json:"meta,omitempty"`
	Tensors []FileTensor    `json:"tensors"`
}

// ErrModelFile marks every error about a malformed model file.
var ErrModelFile = errors.New("invalid model file")

func fileErr(name, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", name, ErrModelFile, fmt.Sprintf(format, args...))
}

// Encode serializes f.
func (f *File) Encode() ([]byte, error) {
	head, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	if len(head) > MaxHeader {
		return nil, fmt.Errorf("model file header of %d bytes exceeds %d", len(head), MaxHeader)
	}
	var b bytes.Buffer
	b.WriteString(fileMagic)
	binary.Write(&b, binary.LittleEndian, uint32(FileVersion))
	binary.Write(&b, binary.LittleEndian, uint32(len(head)))
	b.Write(head)
	for _, t := range f.Tensors {
		if n := shapeLen(t.Shape); n != len(t.Data) {
			return nil, fmt.Errorf("tensor %s: shape %v holds %d elements but has %d", t.Name, t.Shape, n, len(t.Data))
		}
		var w [4]byte
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(w[:], math.Float32bits(v))
			b.Write(w[:])
		}
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes(), nil
}

func shapeLen(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Decode parses a model file's bytes; name is used in errors.
func Decode(name string, b []byte) (*File, error) {
	if len(b) < fixedHead+sumLen {
		return nil, fileErr(name, "truncated: %d bytes, less than the %d of an empty file", len(b), fixedHead+sumLen)
	}
	if string(b[:8]) != fileMagic {
		return nil, fileErr(name, "not a regcl model file (bad magic %q)", b[:8])
	}
	if v := binary.LittleEndian.Uint32(b[8:12]); v != FileVersion {
		return nil, fileErr(name, "unsupported version %d (this regcl reads version %d)", v, FileVersion)
	}
	h := int(binary.LittleEndian.Uint32(b[12:16]))
	if h > MaxHeader || h > len(b)-fixedHead-sumLen {
		return nil, fileErr(name, "truncated or corrupt: header length %d does not fit in %d bytes", h, len(b))
	}
	body, sum := b[:len(b)-sumLen], b[len(b)-sumLen:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fileErr(name, "checksum mismatch: the file is truncated or corrupted")
	}
	f := &File{}
	dec := json.NewDecoder(bytes.NewReader(b[fixedHead : fixedHead+h]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(f); err != nil {
		return nil, fileErr(name, "header: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF { // nothing but white space may follow the object
		return nil, fileErr(name, "header: data after the JSON object")
	}
	if f.Kind != "model" && f.Kind != "checkpoint" {
		return nil, fileErr(name, "unknown kind %q", f.Kind)
	}
	if err := f.Config.Validate(); err != nil {
		return nil, fileErr(name, "configuration: %v", err)
	}
	data := body[fixedHead+h:]
	avail := len(data) / 4
	need := 0
	for i := range f.Tensors {
		t := &f.Tensors[i]
		n := 1
		for _, d := range t.Shape {
			if d < 1 || d > avail || n > avail/d {
				return nil, fileErr(name, "tensor %q: shape %v does not fit in the file's %d values", t.Name, t.Shape, avail)
			}
			n *= d
		}
		if len(t.Shape) == 0 || n > avail-need {
			return nil, fileErr(name, "tensor %q: shape %v does not fit in the file's %d values", t.Name, t.Shape, avail)
		}
		t.Data = make([]float32, n)
		for j := range t.Data {
			t.Data[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*(need+j):]))
		}
		need += n
	}
	if 4*need != len(data) {
		return nil, fileErr(name, "the header declares %d bytes of tensors but the file holds %d", 4*need, len(data))
	}
	return f, nil
}

// MaxFileSize bounds what ReadFile reads: the study's network is 1 MiB, a
// checkpoint 3 MiB; 1 GiB leaves room for far larger networks.
const MaxFileSize = 1 << 30

// ReadFile reads and validates a model or checkpoint file.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fileErr(path, "larger than %d bytes", MaxFileSize)
	}
	return Decode(path, b)
}

// WriteFile writes f to path atomically (temporary file, fsync, rename).
func WriteFile(path string, f *File) error {
	b, err := f.Encode()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, b)
}

// Tensor returns the named tensor, or nil.
func (f *File) Tensor(name string) *FileTensor {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i]
		}
	}
	return nil
}

// Snapshot reads every tensor of lane's network (parameters and moving
// statistics) back from the device.
func (n *Net) Snapshot(lane int) ([]FileTensor, error) {
	out := make([]FileTensor, 0, len(n.tensors))
	for _, t := range n.tensors {
		ft := FileTensor{Name: t.Name, Shape: append([]int(nil), t.Shape...), Data: make([]float32, t.Len())}
		if err := n.be.Read(t.W, lane, 0, ft.Data); err != nil {
			return nil, fmt.Errorf("reading %s: %w", t.Name, err)
		}
		out = append(out, ft)
	}
	return out, nil
}

// Restore writes tensors into lane's network; every tensor of the network
// must be present with its shape.
func (n *Net) Restore(lane int, ts []FileTensor) error {
	byName := map[string]*FileTensor{}
	for i := range ts {
		byName[ts[i].Name] = &ts[i]
	}
	for _, t := range n.tensors {
		ft := byName[t.Name]
		if ft == nil {
			return fmt.Errorf("%w: tensor %s is missing", ErrModelFile, t.Name)
		}
		if !slices.Equal(ft.Shape, t.Shape) {
			return fmt.Errorf("%w: tensor %s has shape %v, the network needs %v", ErrModelFile, t.Name, ft.Shape, t.Shape)
		}
		if err := n.be.Write(t.W, lane, 0, ft.Data); err != nil {
			return fmt.Errorf("writing %s: %w", t.Name, err)
		}
	}
	return nil
}
