package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime/metrics"
	"strings"
	"testing"
)

// sampleFile is a small but complete model file: every field set, and
// tensor values that a careless encoder would not keep (NaN with a payload,
// −0, ±Inf, a subnormal).
func sampleFile(kind string) *File {
	special := []float32{
		math.Float32frombits(0x7fc00123), // NaN with a payload
		float32(math.Copysign(0, -1)),
		float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(1), // smallest subnormal
		math.MaxFloat32, -1.5, 0.1,
	}
	seq := func(n int, base float32) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = base + float32(i)/7
		}
		return d
	}
	return &File{
		Kind:   kind,
		Config: Config{Inputs: 4, Hidden: []int{3, 2}, Classes: 2, L1: 1e-4, L2: 2e-4, Dropout: 0.25, BatchNorm: true},
		Meta:   json.RawMessage(`{"epoch":3,"note":"ünïcode <&>"}`),
		Tensors: []FileTensor{
			{Name: "dense1/kernel", Shape: []int{4, 3}, Data: append(special, seq(4, -2)...)},
			{Name: "dense1/bias", Shape: []int{3}, Data: seq(3, 0.5)},
			{Name: "dense2/kernel", Shape: []int{3, 2}, Data: seq(6, 1)},
			{Name: "output/kernel", Shape: []int{2, 2}, Data: seq(4, -1)},
			{Name: "output/bias", Shape: []int{1, 2, 1}, Data: seq(2, 3)},
		},
	}
}

func encode(t testing.TB, f *File) []byte {
	t.Helper()
	b, err := f.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b
}

// assemble builds a model file from its parts with a correct checksum, so
// that a test can make exactly one thing wrong.
func assemble(version uint32, head, data []byte) []byte {
	b := []byte(fileMagic)
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(head)))
	b = append(b, head...)
	b = append(b, data...)
	return resumAppend(b)
}

// resum recomputes the SHA-256 trailer of b (which already has one).
func resum(b []byte) []byte {
	if len(b) < sumLen {
		return b
	}
	body := b[:len(b)-sumLen]
	sum := sha256.Sum256(body)
	return append(append([]byte(nil), body...), sum[:]...)
}

// resumAppend appends a correct SHA-256 trailer to body.
func resumAppend(body []byte) []byte {
	sum := sha256.Sum256(body)
	return append(append([]byte(nil), body...), sum[:]...)
}

// floats is n little-endian float32 values.
func floats(n int) []byte {
	b := make([]byte, 0, 4*n)
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)))
	}
	return b
}

// validHead is a valid header (as JSON) whose tensors are given as JSON.
func validHead(tensors string) []byte {
	return []byte(`{"kind":"model","config":{"inputs":2,"hidden":[2],"classes":2,"l1":0,"l2":0,"dropout":0,"batch_norm":false},"tensors":` + tensors + `}`)
}

// sameFile reports how got differs from want: tensor data compared bit for
// bit, meta compared as JSON values.
func sameFile(got, want *File) error {
	if got.Kind != want.Kind {
		return fmt.Errorf("kind %q, want %q", got.Kind, want.Kind)
	}
	if !reflect.DeepEqual(got.Config, want.Config) {
		return fmt.Errorf("config %+v, want %+v", got.Config, want.Config)
	}
	if !sameJSON(got.Meta, want.Meta) {
		return fmt.Errorf("meta %s, want %s", got.Meta, want.Meta)
	}
	if len(got.Tensors) != len(want.Tensors) {
		return fmt.Errorf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i, g := range got.Tensors {
		w := want.Tensors[i]
		if g.Name != w.Name || !reflect.DeepEqual(g.Shape, w.Shape) || len(g.Data) != len(w.Data) {
			return fmt.Errorf("tensor %d: %q %v (%d values), want %q %v (%d values)", i, g.Name, g.Shape, len(g.Data), w.Name, w.Shape, len(w.Data))
		}
		for j := range g.Data {
			if math.Float32bits(g.Data[j]) != math.Float32bits(w.Data[j]) {
				return fmt.Errorf("tensor %q value %d: bits %08x, want %08x", g.Name, j, math.Float32bits(g.Data[j]), math.Float32bits(w.Data[j]))
			}
		}
	}
	return nil
}

// sameJSON compares two JSON texts as values (empty counts as absent).
func sameJSON(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(va, vb)
}

// wantFileErr checks that err is a model-file error that names the file and
// contains every phrase.
func wantFileErr(t *testing.T, what string, err error, phrases ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	if !errors.Is(err, ErrModelFile) {
		t.Errorf("%s: error %q does not wrap ErrModelFile", what, err)
	}
	if !strings.HasPrefix(err.Error(), "m.regcl: ") {
		t.Errorf("%s: error %q does not start with the file name", what, err)
	}
	for _, p := range phrases {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not mention %q", what, err, p)
		}
	}
}

func TestEncodeLayout(t *testing.T) {
	f := sampleFile("model")
	b := encode(t, f)
	if string(b[:8]) != "REGCL\x00MF" {
		t.Errorf("magic %q", b[:8])
	}
	if v := binary.LittleEndian.Uint32(b[8:12]); v != FileVersion {
		t.Errorf("version %d, want %d", v, FileVersion)
	}
	h := int(binary.LittleEndian.Uint32(b[12:16]))
	var head struct {
		Kind    string          `json:"kind"`
		Config  Config          `json:"config"`
		Meta    json.RawMessage `json:"meta"`
		Tensors []struct {
			Name  string `json:"name"`
			Shape []int  `json:"shape"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal(b[16:16+h], &head); err != nil {
		t.Fatalf("header: %v", err)
	}
	n := 0
	for _, ts := range f.Tensors {
		n += len(ts.Data)
	}
	if want := 16 + h + 4*n + 32; len(b) != want {
		t.Fatalf("file of %d bytes, want %d", len(b), want)
	}
	// The data follow the header in header order, little-endian float32.
	first := math.Float32frombits(binary.LittleEndian.Uint32(b[16+h:]))
	if math.Float32bits(first) != math.Float32bits(f.Tensors[0].Data[0]) {
		t.Errorf("first value bits %08x, want %08x", math.Float32bits(first), math.Float32bits(f.Tensors[0].Data[0]))
	}
	last := binary.LittleEndian.Uint32(b[len(b)-32-4:])
	lt := f.Tensors[len(f.Tensors)-1]
	if want := math.Float32bits(lt.Data[len(lt.Data)-1]); last != want {
		t.Errorf("last value bits %08x, want %08x", last, want)
	}
	if sum := sha256.Sum256(b[:len(b)-32]); !bytes.Equal(sum[:], b[len(b)-32:]) {
		t.Error("the trailer is not the SHA-256 of the bytes before it")
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, f := range []*File{
		sampleFile("model"),
		sampleFile("checkpoint"),
		{Kind: "model", Config: Config{Inputs: 1, Hidden: []int{1}, Classes: 2}, Tensors: []FileTensor{}},
		{Kind: "model", Config: Config{Inputs: 1, Hidden: []int{1}, Classes: 2}, Tensors: []FileTensor{{Name: "", Shape: []int{1}, Data: []float32{7}}}},
	} {
		b := encode(t, f)
		g, err := Decode("m.regcl", b)
		if err != nil {
			t.Fatalf("%s: Decode: %v", f.Kind, err)
		}
		if err := sameFile(g, f); err != nil {
			t.Errorf("%s: round trip: %v", f.Kind, err)
		}
		// Encoding is deterministic: the decoded file encodes to the same bytes.
		if b2 := encode(t, g); !bytes.Equal(b, b2) {
			t.Errorf("%s: re-encoding gives different bytes (%d vs %d)", f.Kind, len(b2), len(b))
		}
	}
}

func TestEncodeRejectsInconsistentTensor(t *testing.T) {
	f := sampleFile("model")
	f.Tensors[1].Data = f.Tensors[1].Data[:2] // shape [3], 2 values
	if _, err := f.Encode(); err == nil || !strings.Contains(err.Error(), "dense1/bias") {
		t.Errorf("Encode of a tensor with fewer values than its shape: %v, want an error naming it", err)
	}
}

func TestWriteReadFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "m.regcl")
	f := sampleFile("checkpoint")
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameFile(g, f); err != nil {
		t.Error(err)
	}
	// Overwriting replaces the file whole and leaves no temporary file.
	f2 := sampleFile("model")
	f2.Tensors = f2.Tensors[:1]
	if err := WriteFile(path, f2); err != nil {
		t.Fatal(err)
	}
	if g, err = ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := sameFile(g, f2); err != nil {
		t.Error(err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only m.regcl", names)
	}
	// An unencodable file is refused and nothing is written.
	bad := sampleFile("model")
	bad.Tensors[0].Shape = []int{5, 5}
	p2 := filepath.Join(dir, "bad.regcl")
	if err := WriteFile(p2, bad); err == nil {
		t.Error("WriteFile of an inconsistent tensor succeeded")
	}
	if _, err := os.Stat(p2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after a refused write, stat %s: %v", p2, err)
	}
}

func TestReadFileMissing(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "none.regcl"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestReadFileDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.regcl")
	b := encode(t, sampleFile("model"))
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	if !errors.Is(err, ErrModelFile) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("ReadFile of a damaged file: %v, want a checksum error naming %s", err, path)
	}
}

func TestDecodeTruncated(t *testing.T) {
	b := encode(t, sampleFile("model"))
	h := int(binary.LittleEndian.Uint32(b[12:16]))
	lengths := []int{0, 1, 4, 7, 8, 11, 12, 15, 16, 17, 47, 48, 49, 16 + h - 1, 16 + h, 16 + h + 1, 16 + h + 3, 16 + h + 4,
		len(b) - 33, len(b) - 32, len(b) - 31, len(b) - 4, len(b) - 1}
	for n := 50; n < len(b); n += len(b) / 20 {
		lengths = append(lengths, n)
	}
	if len(lengths) < 36 {
		t.Fatalf("only %d lengths", len(lengths))
	}
	for _, n := range lengths {
		f, err := Decode("m.regcl", b[:n])
		if f != nil {
			t.Errorf("length %d of %d: Decode returned a file", n, len(b))
		}
		wantFileErr(t, fmt.Sprintf("length %d of %d", n, len(b)), err)
	}
	// A truncated file whose checksum was made to match again: the sizes
	// no longer add up.
	for _, cut := range []int{4, 8, 12} {
		body := b[:len(b)-32-cut]
		_, err := Decode("m.regcl", resumAppend(body))
		wantFileErr(t, fmt.Sprintf("%d bytes of data cut, checksum redone", cut), err, "does not fit")
	}
}

func TestDecodeFlippedBytes(t *testing.T) {
	b := encode(t, sampleFile("model"))
	for i := range b {
		for _, mask := range []byte{0x01, 0x80} {
			c := append([]byte(nil), b...)
			c[i] ^= mask
			f, err := Decode("m.regcl", c)
			if f != nil || err == nil {
				t.Fatalf("byte %d ^ %#x: Decode accepted the damaged file", i, mask)
			}
			if !errors.Is(err, ErrModelFile) {
				t.Fatalf("byte %d ^ %#x: error %v does not wrap ErrModelFile", i, mask, err)
			}
			var want string
			switch {
			case i < 8:
				want = "bad magic"
			case i < 12:
				want = "unsupported version"
			case i >= 16:
				want = "checksum mismatch"
			}
			if want != "" && !strings.Contains(err.Error(), want) {
				t.Fatalf("byte %d ^ %#x: error %q does not say %q", i, mask, err, want)
			}
		}
	}
}

func TestDecodeBadMagic(t *testing.T) {
	b := encode(t, sampleFile("model"))
	for _, magic := range []string{"REGCL\x00MG", "regcl\x00MF", "\x89PNG\r\n\x1a\n", "\x00\x00\x00\x00\x00\x00\x00\x00"} {
		c := append([]byte(magic), b[8:]...)
		_, err := Decode("m.regcl", resum(c))
		wantFileErr(t, fmt.Sprintf("magic %q", magic), err, "not a regcl model file", "bad magic")
	}
}

func TestDecodeWrongVersion(t *testing.T) {
	b := encode(t, sampleFile("model"))
	for _, v := range []uint32{0, 2, 1 << 31, math.MaxUint32} {
		c := append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(c[8:12], v)
		c = resum(c) // only the version is wrong
		_, err := Decode("m.regcl", c)
		wantFileErr(t, fmt.Sprintf("version %d", v), err, fmt.Sprintf("unsupported version %d", v))
	}
}

func TestDecodeHugeHeaderLength(t *testing.T) {
	b := encode(t, sampleFile("model"))
	for _, h := range []uint32{MaxHeader + 1, 1 << 31, math.MaxUint32, uint32(len(b))} {
		c := append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(c[12:16], h)
		c = resum(c)
		_, err := Decode("m.regcl", c)
		wantFileErr(t, fmt.Sprintf("header length %d", h), err, fmt.Sprintf("header length %d", h))
	}
	// A header just within MaxHeader in a file that holds it is read (and
	// then rejected for what it says, not for its length).
	head := append(validHead(`[]`), bytes.Repeat([]byte(" "), MaxHeader-len(validHead(`[]`)))...)
	if _, err := Decode("m.regcl", assemble(1, head, nil)); err != nil {
		t.Errorf("a header of exactly MaxHeader bytes: %v", err)
	}
}

// heapAllocated is the number of bytes allocated on the heap so far.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestDecodeHugeTensorClaim(t *testing.T) {
	cases := []struct{ name, tensors string }{
		{"2^31 elements", `[{"name":"big","shape":[65536,32768]}]`},
		{"2^31 elements, one dimension", `[{"name":"big","shape":[2147483648]}]`},
		{"overflowing product", `[{"name":"big","shape":[4294967296,4294967296,4294967296]}]`},
		{"max int dimension", `[{"name":"big","shape":[9223372036854775807]}]`},
		{"each fits, the sum does not", `[{"name":"a","shape":[3]},{"name":"b","shape":[3]}]`},
		{"many tensors", `[{"name":"a","shape":[4]},{"name":"b","shape":[4]},{"name":"c","shape":[1]}]`},
	}
	for _, c := range cases {
		b := assemble(1, validHead(c.tensors), floats(4))
		var err error
		before := heapAllocated()
		for range 100 {
			_, err = Decode("m.regcl", b)
		}
		used := (heapAllocated() - before) / 100
		wantFileErr(t, c.name, err, "does not fit")
		if used > 1<<20 {
			t.Errorf("%s: Decode of a %d-byte file allocated %d bytes", c.name, len(b), used)
		}
		allocs := testing.AllocsPerRun(10, func() { Decode("m.regcl", b) })
		t.Logf("%s: about %d bytes allocated (heap-metric granularity), %.0f allocations per Decode of %d bytes", c.name, used, allocs, len(b))
	}
}

// TestDecodeLargestHeader decodes the costliest header there is: MaxHeader
// bytes of empty tensor objects. It must be refused within the allocation
// bound FuzzDecode enforces.
func TestDecodeLargestHeader(t *testing.T) {
	head := validHead("[{}]")
	n := (MaxHeader - len(head)) / 3
	head = validHead("[" + strings.Repeat("{},", n) + "{}]")
	b := assemble(1, head, floats(1))
	before := heapAllocated()
	_, err := Decode("m.regcl", b)
	used := heapAllocated() - before
	wantFileErr(t, "a header of empty tensors", err, "does not fit")
	t.Logf("a %d-byte header of %d empty tensors: %d bytes allocated (%.0f per input byte)", len(head), n+1, used, float64(used)/float64(len(b)))
	if used > fuzzAllocBound(len(b)) {
		t.Errorf("Decode allocated %d bytes for %d input bytes, more than the bound %d", used, len(b), fuzzAllocBound(len(b)))
	}
}

func TestDecodeBadShapes(t *testing.T) {
	for _, tensors := range []string{
		`[{"name":"zero","shape":[0]}]`,
		`[{"name":"zero","shape":[4,0]}]`,
		`[{"name":"neg","shape":[-1,-4]}]`,
		`[{"name":"neg","shape":[-4]}]`,
		`[{"name":"scalar","shape":[]}]`,
		`[{"name":"none"}]`,
	} {
		_, err := Decode("m.regcl", assemble(1, validHead(tensors), floats(4)))
		wantFileErr(t, tensors, err, "does not fit")
	}
	_, err := Decode("m.regcl", assemble(1, validHead(`[{"name":"x","shape":["a"]}]`), floats(4)))
	wantFileErr(t, "a string dimension", err, "header")
}

func TestDecodeTrailingData(t *testing.T) {
	b := encode(t, sampleFile("model"))
	// After the checksum.
	for _, extra := range [][]byte{{0}, []byte("garbage"), b[:40]} {
		_, err := Decode("m.regcl", append(append([]byte(nil), b...), extra...))
		wantFileErr(t, fmt.Sprintf("%d bytes after the checksum", len(extra)), err, "checksum mismatch")
	}
	// Before the checksum, with the checksum redone: more data than the
	// tensors declare.
	for _, n := range []int{1, 3, 4, 8, 400} {
		body := append(append([]byte(nil), b[:len(b)-32]...), make([]byte, n)...)
		_, err := Decode("m.regcl", resumAppend(body))
		wantFileErr(t, fmt.Sprintf("%d extra data bytes, checksum redone", n), err, "declares")
	}
	// Inside the header, after its JSON object.
	for _, tail := range []string{" x", "{}", `{"kind":"model"}`, "]", " null"} {
		head := append(validHead(`[{"name":"a","shape":[2,2]}]`), tail...)
		_, err := Decode("m.regcl", assemble(1, head, floats(4)))
		wantFileErr(t, fmt.Sprintf("header followed by %q", tail), err, "header")
	}
	// Trailing white space in the header is not an error.
	head := append(validHead(`[{"name":"a","shape":[2,2]}]`), " \n\t"...)
	if _, err := Decode("m.regcl", assemble(1, head, floats(4))); err != nil {
		t.Errorf("header followed by white space: %v", err)
	}
}

func TestDecodeUnknownFields(t *testing.T) {
	for _, head := range []string{
		`{"kind":"model","extra":1,"config":{"inputs":2,"hidden":[2],"classes":2},"tensors":[]}`,
		`{"kind":"model","config":{"inputs":2,"hidden":[2],"classes":2,"momentum":0.9},"tensors":[]}`,
		`{"kind":"model","config":{"inputs":2,"hidden":[2],"classes":2},"tensors":[{"name":"a","shape":[1],"dtype":"f16"}]}`,
	} {
		_, err := Decode("m.regcl", assemble(1, []byte(head), floats(1)))
		wantFileErr(t, head, err, "header", "unknown field")
	}
}

func TestDecodeInvalidHeader(t *testing.T) {
	cfg := func(s string) string {
		return `{"kind":"model","config":` + s + `,"tensors":[]}`
	}
	cases := []struct{ head, phrase string }{
		{cfg(`{"inputs":2,"hidden":[2],"classes":2,"dropout":1}`), "dropout"},
		{cfg(`{"inputs":2,"hidden":[2],"classes":2,"dropout":-0.5}`), "dropout"},
		{cfg(`{"inputs":2,"hidden":[],"classes":2}`), "hidden layer"},
		{cfg(`{"inputs":2,"classes":2}`), "hidden layer"},
		{cfg(`{"inputs":0,"hidden":[2],"classes":2}`), "inputs"},
		{cfg(`{"inputs":2,"hidden":[2],"classes":1}`), "classes"},
		{cfg(`{"inputs":2,"hidden":[0],"classes":2}`), "width"},
		{cfg(`{"inputs":2,"hidden":[70000],"classes":2}`), "width"},
		{cfg(`{"inputs":2,"hidden":[2],"classes":2,"l1":-1}`), "l1"},
		{cfg(`{"inputs":2,"hidden":[2],"classes":2,"l2":-1}`), "l2"},
		{cfg(`{"inputs":2,"hidden":[2],"classes":2,"l1":1e999}`), "header"},
		{`{"kind":"weights","config":{"inputs":2,"hidden":[2],"classes":2},"tensors":[]}`, "unknown kind"},
		{`{"config":{"inputs":2,"hidden":[2],"classes":2},"tensors":[]}`, "unknown kind"},
		{`null`, "unknown kind"},
		{`[]`, "header"},
		{``, "header"},
		{`{"kind":"model"`, "header"},
		{`{"kind":"model","config":{"inputs":"2"}}`, "header"},
		{`{"kind":"model","meta":{,"config":{"inputs":2,"hidden":[2],"classes":2},"tensors":[]}`, "header"},
	}
	for _, c := range cases {
		_, err := Decode("m.regcl", assemble(1, []byte(c.head), nil))
		wantFileErr(t, c.head, err, c.phrase)
	}
}

// TestDecodeSeedsHaveBothOutcomes checks that the checked-in corpus of
// FuzzDecode (which plain `go test` runs as FuzzDecode's seeds) holds both
// valid files and broken ones.
func TestDecodeSeedsHaveBothOutcomes(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzDecode"))
	if err != nil {
		t.Fatal(err)
	}
	var ok, bad int
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzDecode", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		data, err := parseCorpusFile(raw)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if _, err := Decode("seed", data); err == nil {
			ok++
		} else {
			bad++
		}
	}
	if ok < 2 || bad < 5 {
		t.Errorf("the checked-in corpus has %d valid and %d invalid files; want at least 2 and 5", ok, bad)
	}
}

// parseCorpusFile reads a one-value `go test fuzz v1` file holding a []byte.
func parseCorpusFile(raw []byte) ([]byte, error) {
	s := strings.TrimSpace(string(raw))
	const head = "go test fuzz v1\n"
	if !strings.HasPrefix(s, head) {
		return nil, fmt.Errorf("not a go test fuzz v1 file")
	}
	s = strings.TrimSpace(strings.TrimPrefix(s, head))
	if !strings.HasPrefix(s, "[]byte(") || !strings.HasSuffix(s, ")") {
		return nil, fmt.Errorf("not a single []byte value")
	}
	var out string
	if _, err := fmt.Sscanf(s[len("[]byte("):len(s)-1], "%q", &out); err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// fuzzAllocBound is what Decode may allocate for an input of n bytes: a
// fixed amount plus a multiple of the input, never what a header merely
// claims. The multiple is for the JSON header: a header listing empty
// tensor objects, "{},{},…", costs about 130 bytes of allocation per input
// byte (64-byte FileTensor values, the slice growing as it is decoded;
// measured by TestDecodeLargestHeader); MaxHeader caps that at about 140 MB.
func fuzzAllocBound(n int) uint64 { return 1<<20 + 256*uint64(n) }

// FuzzDecode feeds arbitrary bytes to Decode: it must not panic, must return
// a file or an error (never both), its errors must be model-file errors
// naming the input, it must not allocate beyond a bound linear in the input,
// and what it accepts must be consistent and survive Encode and Decode
// again unchanged.
func FuzzDecode(f *testing.F) {
	f.Add(encode(f, sampleFile("model")))
	f.Add(encode(f, &File{Kind: "checkpoint", Config: Config{Inputs: 1, Hidden: []int{1}, Classes: 2}, Meta: json.RawMessage(`{"a":[1,2]}`),
		Tensors: []FileTensor{{Name: "w", Shape: []int{1, 1}, Data: []float32{1}}}}))
	f.Add(assemble(1, validHead(`[{"name":"big","shape":[65536,32768]}]`), floats(4)))
	f.Add(assemble(1, append(validHead(`[]`), " x"...), nil))
	f.Add([]byte(fileMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		before := heapAllocated()
		file, err := Decode("fuzz", data)
		if used := heapAllocated() - before; used > fuzzAllocBound(len(data)) {
			t.Fatalf("Decode allocated %d bytes for %d input bytes", used, len(data))
		}
		if err != nil {
			if file != nil {
				t.Fatalf("Decode returned a file and the error %v", err)
			}
			if !errors.Is(err, ErrModelFile) || !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error %q is not a model-file error naming the input", err)
			}
			return
		}
		if file == nil {
			t.Fatal("Decode returned neither a file nor an error")
		}
		if file.Kind != "model" && file.Kind != "checkpoint" {
			t.Fatalf("accepted kind %q", file.Kind)
		}
		if err := file.Config.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
		values := 0
		for _, ts := range file.Tensors {
			if len(ts.Shape) == 0 {
				t.Fatalf("tensor %q without a shape", ts.Name)
			}
			n := 1
			for _, d := range ts.Shape {
				if d < 1 {
					t.Fatalf("tensor %q: shape %v", ts.Name, ts.Shape)
				}
				n *= d
			}
			if n != len(ts.Data) {
				t.Fatalf("tensor %q: shape %v but %d values", ts.Name, ts.Shape, len(ts.Data))
			}
			values += n
		}
		h := int(binary.LittleEndian.Uint32(data[12:16]))
		if 16+h+4*values+32 != len(data) {
			t.Fatalf("accepted %d bytes holding a %d-byte header and %d values", len(data), h, values)
		}
		again, err := file.Encode()
		if err != nil {
			if strings.Contains(err.Error(), "exceeds") { // JSON escaping can lengthen a header near MaxHeader
				return
			}
			t.Fatalf("an accepted file does not encode: %v", err)
		}
		file2, err := Decode("fuzz", again)
		if err != nil {
			t.Fatalf("an accepted file, encoded again, does not decode: %v", err)
		}
		if err := sameFile(file2, file); err != nil {
			t.Fatalf("decode, encode, decode changed the file: %v", err)
		}
	})
}
