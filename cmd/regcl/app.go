package main

import (
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/internal/atomicfile"
	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/internal/suggest"
)

// newApp assembles the command line; each subcommand lives in its own file.
// Every command reads its positional arguments and reports a usage error
// the same way (checkArgs, usageError); `regcl help [COMMAND]` and `regcl
// --version` work as in any urfave/cli program.
func newApp() *cli.App {
	app := &cli.App{
		Name:    "regcl",
		Usage:   "compare regularization methods for dense networks on MNIST, on OpenCL or the CPU",
		Version: version(),
		Commands: []*cli.Command{
			trainCommand(),
			dataCommand(),
			devicesCommand(),
			evalCommand(),
			benchCommand(),
			compareCommand(),
			sweepCommand(),
			reportCommand(),
			predictCommand(),
			tuneCommand(),
			planCommand(),
		},
		// Errors are printed once, by main, as "regcl: <err>".
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   usageError(""),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return unknownCommand(c.Args().First(), "regcl", c.App.Commands)
			}
			return cli.ShowAppHelp(c)
		},
		Before: func(*cli.Context) error {
			// A testing aid: pause in the middle of every atomic file write, so
			// that a test can kill the process there.
			if v := os.Getenv("REGCL_TEST_WRITE_DELAY"); v != "" {
				d, err := time.ParseDuration(v)
				if err != nil {
					return fmt.Errorf("REGCL_TEST_WRITE_DELAY: %w", err)
				}
				atomicfile.WriteDelay = d
			}
			return nil
		},
	}
	checkArgs("regcl", app.Commands)
	return app
}

// checkArgs makes every command of cmds (and their subcommands) treat
// positional arguments alike, before its action runs: a flag written after
// an argument is refused with the command line that puts it first (the flag
// parser stops at the first argument, so `eval m.regcl --device cpu` would
// take "--device" for a second file); a command without ArgsUsage takes no
// arguments, and one with subcommands says which exist. Usage errors of
// flags go through usageError.
func checkArgs(parent string, cmds []*cli.Command) {
	for _, cmd := range cmds {
		name := parent + " " + cmd.Name
		short := strings.TrimPrefix(name, "regcl ") // as errors name the command
		cmd.OnUsageError = usageError(short)
		checkArgs(name, cmd.Subcommands)
		action := cmd.Action
		if action == nil {
			continue
		}
		cmd.Action = func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) > 0 && cmd.ArgsUsage == "" {
				if subs := ownCommands(cmd.Subcommands); len(subs) > 0 {
					return fmt.Errorf("%s: %w", short, unknownCommand(args[0], name, subs))
				}
				return fmt.Errorf("%s: unexpected argument %q (%s takes no arguments; %s --help lists its flags)", short, args[0], name, name)
			}
			if err := flagsFirst(name, cmd.Flags, args); err != nil {
				return fmt.Errorf("%s: %w", short, err)
			}
			return action(c)
		}
	}
}

// ownCommands are cmds without the help command urfave/cli adds.
func ownCommands(cmds []*cli.Command) []*cli.Command {
	var out []*cli.Command
	for _, c := range cmds {
		if c.Name != "help" {
			out = append(out, c)
		}
	}
	return out
}

// unknownCommand is the error for a command name that parent lacks, with
// the nearest one.
func unknownCommand(arg, parent string, cmds []*cli.Command) error {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	hint := ""
	if near, ok := suggest.Nearest(arg, names); ok {
		hint = fmt.Sprintf("did you mean %q? ", near)
	}
	return fmt.Errorf("unknown command %q (%s%s --help lists them)", arg, hint, parent)
}

// flagsFirst refuses args (a command's positional arguments) when one of
// them is a flag of the command, and says how to write the command line:
// the flags, with their values, before the arguments.
func flagsFirst(command string, flags []cli.Flag, args []string) error {
	if len(args) < 2 {
		return nil
	}
	var moved []string
	rest := []string{args[0]} // an argument: the parser stopped there
	first := ""
	for i := 1; i < len(args); i++ {
		f := lookupFlag(flags, args[i])
		if f == nil {
			rest = append(rest, args[i])
			continue
		}
		if first == "" {
			first = args[i]
		}
		moved = append(moved, args[i])
		if v, ok := f.(cli.DocGenerationFlag); ok && v.TakesValue() && !strings.Contains(args[i], "=") && i+1 < len(args) {
			i++
			moved = append(moved, args[i])
		}
	}
	if first == "" {
		return nil
	}
	line := append(append([]string{command}, moved...), rest...)
	for i, a := range line[1:] {
		line[i+1] = shellWord(a)
	}
	return fmt.Errorf("flags go before arguments, but %s follows %s: write %s", first, shellWord(rest[0]), strings.Join(line, " "))
}

// lookupFlag returns the flag of flags that arg ("--device", "-device",
// "--device=cpu") names, or nil.
func lookupFlag(flags []cli.Flag, arg string) cli.Flag {
	if len(arg) < 2 || arg[0] != '-' {
		return nil
	}
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// shellWord quotes s for a shell when it needs it.
func shellWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// The errors of Go's flag package, which urfave/cli passes on.
var (
	invalidValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-(\S+): `)
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
	needsValue    = regexp.MustCompile(`^flag needs an argument: -+(\S+)$`)
)

// usageError is the handler of the flag parser's errors for the command
// that errors name command ("train", "sweep run"; "" for regcl itself): it
// names the command and the flag and says what the flag takes, where
// urfave/cli would print "Incorrect Usage" and the whole help. A duration
// without a unit gets a hint, an unknown flag the nearest known one.
func usageError(command string) cli.OnUsageErrorFunc {
	return func(c *cli.Context, err error, _ bool) error {
		prefix, line, flags := "", "regcl", c.App.Flags
		if command != "" {
			prefix, line, flags = command+": ", "regcl "+command, c.Command.Flags
		}
		return flagError(prefix, line, flags, err)
	}
}

// flagError rewrites err, an error of Go's flag package, for the command
// line line whose errors start with prefix and whose flags are flags.
func flagError(prefix, line string, flags []cli.Flag, err error) error {
	msg := err.Error()
	switch {
	case invalidValue.MatchString(msg):
		m := invalidValue.FindStringSubmatch(msg)
		return fmt.Errorf("%s--%s %s: %s", prefix, m[2], m[1], takes(lookupFlag(flags, "--"+m[2]), m[1]))
	case undefinedFlag.MatchString(msg):
		flag := undefinedFlag.FindStringSubmatch(msg)[1]
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()[0])
		}
		hint := ""
		if near, ok := suggest.Nearest(flag, names); ok {
			hint = fmt.Sprintf("did you mean --%s? ", near)
		}
		return fmt.Errorf("%sunknown flag --%s (%s%s --help lists them)", prefix, flag, hint, line)
	case needsValue.MatchString(msg):
		return fmt.Errorf("%s--%s needs a value", prefix, needsValue.FindStringSubmatch(msg)[1])
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// takes says what a flag accepts, for a value it refused.
func takes(f cli.Flag, value string) string {
	switch f.(type) {
	case *cli.DurationFlag:
		if _, err := strconv.ParseFloat(value, 64); err == nil {
			return fmt.Sprintf("a duration needs a unit: %ss, %sm or %sh", value, value, value)
		}
		return "not a duration (a number with a unit: 90s, 5m, 1h30m)"
	case *cli.IntFlag:
		return "not a whole number"
	case *cli.Uint64Flag:
		return "not a whole number ≥ 0"
	case *cli.Float64Flag:
		return "not a number"
	case *cli.BoolFlag:
		return "want true or false"
	}
	return "not a valid value"
}

// version is regcl's version as the Go toolchain stamped it into the binary.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (the binary holds no build information)"
	}
	return versionOf(bi)
}

// versionOf writes the version of a build and its Go version: the main
// module's version (a release tag, or since Go 1.24 a pseudo-version made
// from the commit, "+dirty" with uncommitted changes), or where the build
// has none ("(devel)") "devel" with the commit, its time and "modified"
// from the version-control stamp when there is one, e.g. "devel (commit
// 25ab2aa1b2c3, 2026-12-04T10:15:00Z, modified), go1.26.8".
func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v + ", " + bi.GoVersion
	}
	vcs := map[string]string{}
	for _, s := range bi.Settings {
		vcs[s.Key] = s.Value
	}
	v = "devel"
	if rev := vcs["vcs.revision"]; rev != "" {
		details := []string{"commit " + rev[:min(12, len(rev))]}
		if t := vcs["vcs.time"]; t != "" {
			details = append(details, t)
		}
		if vcs["vcs.modified"] == "true" {
			details = append(details, "modified")
		}
		v += " (" + strings.Join(details, ", ") + ")"
	}
	return v + ", " + bi.GoVersion
}

// argsError is the error of a command that got the wrong number of
// positional arguments: what it wants, and how many it got.
func argsError(want string, got int) error {
	return fmt.Errorf("want %s, got %s", want, plural.Count(got, "argument", "arguments"))
}
