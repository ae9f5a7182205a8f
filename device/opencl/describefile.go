package opencl

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/regcl/regcl/internal/readfile"
)

// A device description: the fields `regcl devices` shows, in YAML, so that
// the step plan of a device can be read where the device is not (regcl
// plan --describe). Sizes are bytes, or a number with a unit (48 KiB,
// 139.8 GiB). Every size is bounded before it sizes anything.
//
//	name: NVIDIA H200                 # required
//	type: GPU                         # required: GPU, CPU or Accelerator
//	compute_units: 132                # required, 1..65536
//	global_mem: 139.8 GiB             # required, 1 MiB..1 PiB
//	local_mem: 48 KiB                 # required, 1 B..1 GiB
//	max_work_group_size: 1024         # required, 1..65536
//	preferred_vector_width: 1         # required: 1, 2, 4, 8 or 16 floats
//	native_vector_width: 1            # required, as preferred
//	vendor: NVIDIA Corporation        # the rest is optional
//	platform: NVIDIA CUDA             # with device and driver: the key of a tuning file made on the device
//	opencl: OpenCL 3.0 CUDA
//	driver: 580.159.04
//	max_alloc: 35 GiB                 # the largest buffer (default: global_mem)
//	base_addr_align: 4096             # bits (default 1024)
//	max_clock_mhz: 1980
type description struct {
	Name             *string   `yaml:"name"`
	Type             *string   `yaml:"type"`
	ComputeUnits     *int      `yaml:"compute_units"`
	GlobalMem        *byteSize `yaml:"global_mem"`
	LocalMem         *byteSize `yaml:"local_mem"`
	MaxWorkGroupSize *int      `yaml:"max_work_group_size"`
	PrefVec          *int      `yaml:"preferred_vector_width"`
	NativeVec        *int      `yaml:"native_vector_width"`
	Vendor           string    `yaml:"vendor"`
	Platform         string    `yaml:"platform"`
	Version          string    `yaml:"opencl"`
	Driver           string    `yaml:"driver"`
	MaxAlloc         *byteSize `yaml:"max_alloc"`
	BaseAddrAlign    *int      `yaml:"base_addr_align"`
	MaxClockMHz      int       `yaml:"max_clock_mhz"`
}

// MaxDescriptionSize bounds a device description file.
const MaxDescriptionSize = 64 << 10

// byteSize is a size in bytes: an integer, or a number and a unit.
type byteSize uint64

var units = map[string]float64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
	"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}

func (b *byteSize) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	num, unit := s, ""
	if i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }); i >= 0 {
		num, unit = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	mul, ok := units[unit]
	if n.Kind != yaml.ScalarNode || err != nil || !ok || !(f >= 0) || f*mul > 1<<62 {
		return fmt.Errorf("line %d: %q is not a size (bytes, or a number with B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", n.Line, n.Value)
	}
	*b = byteSize(math.Round(f * mul))
	return nil
}

// ReadDescription reads a device description (YAML, the fields above)
// into an Info. Errors name the file and the field.
func ReadDescription(path string) (Info, error) {
	raw, err := readfile.Max(path, MaxDescriptionSize, "a device description")
	if err != nil {
		return Info{}, err
	}
	info, err := parseDescription(raw)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

func parseDescription(raw []byte) (Info, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return Info{}, fmt.Errorf("not YAML: %v", err)
	}
	if len(doc.Content) == 0 {
		return Info{}, fmt.Errorf("empty: a device description needs name, type, compute_units, global_mem, local_mem, max_work_group_size, preferred_vector_width and native_vector_width")
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return Info{}, fmt.Errorf("line %d: not a device description: want a mapping of fields (name: …, compute_units: …)", m.Line)
	}
	var d description
	fields := map[string]any{"name": &d.Name, "type": &d.Type, "compute_units": &d.ComputeUnits, "global_mem": &d.GlobalMem,
		"local_mem": &d.LocalMem, "max_work_group_size": &d.MaxWorkGroupSize, "preferred_vector_width": &d.PrefVec,
		"native_vector_width": &d.NativeVec, "vendor": &d.Vendor, "platform": &d.Platform, "opencl": &d.Version,
		"driver": &d.Driver, "max_alloc": &d.MaxAlloc, "base_addr_align": &d.BaseAddrAlign, "max_clock_mhz": &d.MaxClockMHz}
	seen := map[string]bool{}
	for j := 0; j+1 < len(m.Content); j += 2 {
		k, v := m.Content[j], m.Content[j+1]
		target, ok := fields[k.Value]
		switch {
		case !ok:
			return Info{}, fmt.Errorf("line %d: unknown field %q", k.Line, k.Value)
		case seen[k.Value]:
			return Info{}, fmt.Errorf("line %d: %s given twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		if err := v.Decode(target); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				err = errors.New(strings.Join(te.Errors, "; "))
			}
			return Info{}, fmt.Errorf("%s: %v", k.Value, err)
		}
	}
	missing := func(field string) error { return fmt.Errorf("%s is missing", field) }
	bounds := func(field string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("%s %d is outside %d..%d", field, v, lo, hi)
		}
		return nil
	}
	size := func(field string, v byteSize, lo, hi uint64) error {
		if uint64(v) < lo || uint64(v) > hi {
			return fmt.Errorf("%s of %d bytes is outside %s..%s", field, uint64(v), iec(lo), iec(hi))
		}
		return nil
	}
	vec := func(field string, v int) error {
		switch v {
		case 1, 2, 4, 8, 16:
			return nil
		}
		return fmt.Errorf("%s %d: want 1, 2, 4, 8 or 16 floats", field, v)
	}
	i := Info{Vendor: d.Vendor, PlatformName: d.Platform, Version: d.Version, Driver: d.Driver, MaxClockMHz: d.MaxClockMHz, BaseAddrAlign: 1024}
	switch {
	case d.Name == nil || strings.TrimSpace(*d.Name) == "":
		return Info{}, missing("name")
	case d.Type == nil:
		return Info{}, missing("type")
	case d.ComputeUnits == nil:
		return Info{}, missing("compute_units")
	case d.GlobalMem == nil:
		return Info{}, missing("global_mem")
	case d.LocalMem == nil:
		return Info{}, missing("local_mem")
	case d.MaxWorkGroupSize == nil:
		return Info{}, missing("max_work_group_size")
	case d.PrefVec == nil:
		return Info{}, missing("preferred_vector_width")
	case d.NativeVec == nil:
		return Info{}, missing("native_vector_width")
	}
	i.Name = strings.TrimSpace(*d.Name)
	for _, t := range []string{"GPU", "CPU", "Accelerator"} {
		if strings.EqualFold(strings.TrimSpace(*d.Type), t) {
			i.Type = t
		}
	}
	if i.Type == "" {
		return Info{}, fmt.Errorf("type %q: want GPU, CPU or Accelerator", *d.Type)
	}
	for _, err := range []error{
		bounds("compute_units", *d.ComputeUnits, 1, 1<<16),
		size("global_mem", *d.GlobalMem, 1<<20, 1<<50),
		size("local_mem", *d.LocalMem, 1, 1<<30),
		bounds("max_work_group_size", *d.MaxWorkGroupSize, 1, 1<<16),
		vec("preferred_vector_width", *d.PrefVec),
		vec("native_vector_width", *d.NativeVec),
		bounds("max_clock_mhz", d.MaxClockMHz, 0, 1<<20),
	} {
		if err != nil {
			return Info{}, err
		}
	}
	i.ComputeUnits, i.GlobalMem, i.LocalMem = *d.ComputeUnits, uint64(*d.GlobalMem), uint64(*d.LocalMem)
	i.MaxWorkGroupSize, i.PrefVecFloat, i.NativeVecFloat = *d.MaxWorkGroupSize, *d.PrefVec, *d.NativeVec
	i.MaxAlloc = i.GlobalMem
	if d.MaxAlloc != nil {
		if err := size("max_alloc", *d.MaxAlloc, 1<<20, i.GlobalMem); err != nil {
			return Info{}, err
		}
		i.MaxAlloc = uint64(*d.MaxAlloc)
	}
	if a := d.BaseAddrAlign; a != nil {
		if *a < 32 || *a > 1<<20 || *a&(*a-1) != 0 {
			return Info{}, fmt.Errorf("base_addr_align %d: want a power of two of bits in 32..%d", *a, 1<<20)
		}
		i.BaseAddrAlign = *a
	}
	return i, nil
}

// iec writes a size bound with its binary unit.
func iec(b uint64) string {
	for _, u := range []struct {
		n    string
		size uint64
	}{{"PiB", 1 << 50}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b >= u.size && b%u.size == 0 {
			return fmt.Sprintf("%d %s", b/u.size, u.n)
		}
	}
	return fmt.Sprintf("%d B", b)
}
