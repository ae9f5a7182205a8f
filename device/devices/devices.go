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
	infos, err := opencl.List()
	if err != nil {
		return nil, err
	}
	if p < 0 {
		i, err := opencl.First(infos)
		if err != nil {
			return nil, err
		}
		return opencl.OpenTuned(i, opencl.TuningFor(i, tuning, log))
	}
	var have []string
	for _, i := range infos {
		if i.Platform == p && i.Device == d {
			return opencl.OpenTuned(i, opencl.TuningFor(i, tuning, log))
		}
		have = append(have, fmt.Sprintf("opencl:%d:%d", i.Platform, i.Device))
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("no OpenCL device found")
	}
	return nil, fmt.Errorf("no OpenCL device %d on platform %d (have %s)", d, p, strings.Join(have, ", "))
}

// List returns the OpenCL devices (an error when OpenCL is unavailable) and
// the OpenCL library they were found through.
func List() ([]opencl.Info, string, error) {
	infos, err := opencl.List()
	return infos, opencl.Library(), err
}
