package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// newFlags returns a flag set that reports errors instead of printing or exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// helpRequest is returned by parse when the arguments ask for help (-h, -help, --help): run
// prints the command's help from the flag set.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string { return h.fs.Name() + ": help requested" }

// parse parses args with fs, allowing flags before, between and after the positional arguments
// ("anya did resolve DID --gateway URL"); "--" ends the flags. It returns the positional
// arguments, requires the named flags to have been given, and answers -h, -help and --help with
// a *helpRequest.
func parse(fs *flag.FlagSet, args []string, required ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{fs}
			}
			return nil, usageError("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	for _, name := range required {
		if !flagSet(fs, name) {
			return nil, usageError("%s: --%s is required", fs.Name(), name)
		}
	}
	return pos, nil
}

// noArgs parses args, which must hold flags only.
func noArgs(fs *flag.FlagSet, args []string, required ...string) error {
	pos, err := parse(fs, args, required...)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("%s: unexpected argument %q", fs.Name(), pos[0])
	}
	return nil
}

// flagSet reports whether the flag was given on the command line (an empty message is a
// valid message).
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// stringList is a flag that may be repeated; each use adds a value.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func listFlag(fs *flag.FlagSet, name, usage string) *stringList {
	l := new(stringList)
	fs.Var(l, name, usage)
	return l
}

// A secret — a private key, a portable DID, a password — never needs to be written on the
// command line, where other users of the machine see it (ps, /proc/PID/cmdline) and shells
// keep it in their history. Each secret has a group of three flags:
//
//	--NAME -          read it from standard input
//	--NAME-file PATH  read it from a file (or --NAME @PATH)
//	--NAME-env VAR    read it from an environment variable
//
// and --NAME VALUE, which still works for the secrets that always took it (--wif) but prints a
// warning on standard error. For a portable DID, --portable-did names a file (as it always
// did), so no secret is ever on the command line.
type secret struct {
	name        string
	in          input
	plainIsFile bool // --NAME names a file (portable DIDs), not the secret itself
	value       *string
	file        *string
	env         *string
}

// addSecret defines the flags of a secret. what describes it ("the private key in WIF").
func addSecret(fs *flag.FlagSet, name string, in input, plainIsFile bool, what string) *secret {
	s := &secret{name: name, in: in, plainIsFile: plainIsFile}
	if plainIsFile {
		s.value = fs.String(name, "", "the file holding "+what+" (`PORTABLE_DID`: FILE, @FILE, or - for standard input)")
	} else {
		s.value = fs.String(name, "", what+": - reads it from standard input, @FILE from a file; a `VALUE` given here is visible to other users (ps): prefer --"+name+"-file or --"+name+"-env")
	}
	s.file = fs.String(name+"-file", "", "read "+what+" from the file `PATH`")
	s.env = fs.String(name+"-env", "", "read "+what+" from the environment variable `VAR`")
	return s
}

// given reports whether one of the secret's flags was set.
func (s *secret) given() bool { return *s.value != "" || *s.file != "" || *s.env != "" }

// flags names the secret's flags, for messages.
func (s *secret) flags() string {
	return fmt.Sprintf("--%s-file PATH, --%s-env VAR or --%s -", s.name, s.name, s.name)
}

// read returns the secret from the one source given, within its input's size limit. It is a
// usage error to give none or more than one.
func (s *secret) read(e *env) ([]byte, error) {
	n := 0
	for _, v := range []string{*s.value, *s.file, *s.env} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, usageError("--%s is required: give it with %s", s.name, s.flags())
	case n > 1:
		return nil, usageError("--%s: give one of --%s, --%s-file and --%s-env", s.name, s.name, s.name, s.name)
	}
	switch {
	case *s.file != "":
		return e.read(s.in, "@"+*s.file)
	case *s.env != "":
		v, ok := os.LookupEnv(*s.env)
		if !ok || v == "" {
			return nil, usageError("--%s-env: the environment variable %s is not set", s.name, *s.env)
		}
		if len(v) > s.in.spec().MaxBytes {
			return nil, tooLarge(s.in.spec(), " in $"+*s.env)
		}
		return []byte(v), nil
	case s.plainIsFile:
		return e.readFile(s.in, *s.value)
	case *s.value == "-" || strings.HasPrefix(*s.value, "@"):
		return e.read(s.in, *s.value)
	}
	fmt.Fprintf(e.stderr, "anya: warning: --%s puts a secret on the command line, where other users of this machine can read it; use %s\n", s.name, s.flags())
	v := *s.value
	if len(v) > s.in.spec().MaxBytes {
		return nil, tooLarge(s.in.spec(), "")
	}
	return []byte(v), nil
}
