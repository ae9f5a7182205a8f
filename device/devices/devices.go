package devices

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/opencl"
)

// Open opens the device that spec names and writes one line to log saying
// which it picked (and, for auto, why it fell back to the CPU). An OpenCL
// device is built with the tuning `regcl tune` cached for it, when there is
// a valid one (OpenTuned).
func Open(spec string, log io.Writer) (device.Device, error) { return OpenTuned(spec, "", log) }

// OpenTuned is Open with a tuning file pinned (empty: $REGCL_TUNING, else
// the cached one); a tuning file that cannot be used is ignored with one
// line on log, and the device runs untuned.
func OpenTuned(spec, tuning string, log io.Writer) (device.Device, error) {
	if log == nil {
		log = io.Discard
	}
	s := strings.TrimSpace(spec)
	switch {
	case s == "cpu":
		fmt.Fprintln(log, "device: cpu (gonum)")
		return cpu.Device{}, nil
	case s == "" || s == "auto":
		d, err := openCL(-1, -1, tuning, log)
		if err != nil {
			fmt.Fprintf(log, "device: cpu (gonum), because OpenCL is unavailable: %v\n", err)
			return cpu.Device{}, nil
		}
		fmt.Fprintf(log, "device: %s, %s\n", d.Name(), d.Tuning.Describe())
		return d, nil
	case s == "opencl":
		d, err := openCL(-1, -1, tuning, log)
		if err != nil {
			return nil, fmt.Errorf("--device opencl: %w", err)
		}
		fmt.Fprintf(log, "device: %s, %s\n", d.Name(), d.Tuning.Describe())
		return d, nil
	case strings.HasPrefix(s, "opencl:"):
		parts := strings.Split(strings.TrimPrefix(s, "opencl:"), ":")
		if len(parts) != 2 {
			return nil, fmt.Errorf("--device %q: want opencl:P:D, platform and device indices as `regcl devices` lists them", spec)
		}
		p, err1 := strconv.Atoi(parts[0])
		d, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil || p < 0 || d < 0 {
			return nil, fmt.Errorf("--device %q: platform and device must be non-negative integers", spec)
		}
		dev, err := openCL(p, d, tuning, log)
		if err != nil {
			return nil, fmt.Errorf("--device %s: %w", s, err)
		}
		fmt.Fprintf(log, "device: %s, %s\n", dev.Name(), dev.Tuning.Describe())
		return dev, nil
	}
	return nil, fmt.Errorf("unknown device %q (use auto, cpu, opencl or opencl:P:D; `regcl devices` lists them)", spec)
}

// openCL opens platform p's device d, or with p < 0 the first GPU, else the
// first device of any type, with its tuning (see OpenTuned).
func openCL(p, d int, tuning string, log io.Writer) (*opencl.Device, error) {
	i, err := find(p, d)
	if err != nil {
		return nil, err
	}
	return opencl.OpenTuned(i, opencl.TuningFor(i, tuning, log))
}

// find is platform p's device d, or with p < 0 the first GPU, else the
// first device of any type.
func find(p, d int) (opencl.Info, error) {
	infos, err := opencl.List()
	if err != nil {
		return opencl.Info{}, err
	}
	if p < 0 {
		return opencl.First(infos)
	}
	var have []string
	for _, i := range infos {
		if i.Platform == p && i.Device == d {
			return i, nil
		}
		have = append(have, fmt.Sprintf("opencl:%d:%d", i.Platform, i.Device))
	}
	if len(have) == 0 {
		return opencl.Info{}, fmt.Errorf("no OpenCL device found")
	}
	return opencl.Info{}, fmt.Errorf("no OpenCL device %d on platform %d (have %s)", d, p, strings.Join(have, ", "))
}

// Describe is the OpenCL device that spec names (auto and opencl: the
// first GPU, else the first device) as a described device
// (opencl.Describe) with the tuning it would be opened with: its launches
// are computed and recorded, nothing is built or run (regcl plan). The
// gonum CPU backend launches no kernels: cpu is refused.
func Describe(spec, tuning string, log io.Writer) (*opencl.Device, error) {
	s := strings.TrimSpace(spec)
	p, d := -1, -1
	switch {
	case s == "" || s == "auto" || s == "opencl":
	case strings.HasPrefix(s, "opencl:"):
		parts := strings.Split(strings.TrimPrefix(s, "opencl:"), ":")
		var err1, err2 error
		if len(parts) == 2 {
			p, err1 = strconv.Atoi(parts[0])
			d, err2 = strconv.Atoi(parts[1])
		}
		if len(parts) != 2 || err1 != nil || err2 != nil || p < 0 || d < 0 {
			return nil, fmt.Errorf("--device %q: want opencl:P:D, platform and device indices as `regcl devices` lists them", spec)
		}
	case s == "cpu":
		return nil, fmt.Errorf("--device cpu: the gonum backend launches no kernels; name an OpenCL device, or describe one with --describe FILE")
	default:
		return nil, fmt.Errorf("unknown device %q (use auto, opencl or opencl:P:D; `regcl devices` lists them)", spec)
	}
	i, err := find(p, d)
	if err != nil {
		return nil, fmt.Errorf("--device %s: %w", s, err)
	}
	return opencl.Describe(i, opencl.TuningFor(i, tuning, log))
}

// List returns the OpenCL devices (an error when OpenCL is unavailable) and
// the OpenCL library they were found through.
func List() ([]opencl.Info, string, error) {
	infos, err := opencl.List()
	return infos, opencl.Library(), err
}
