package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
)

// command is one entry of the command table.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is the command table; each command lives in its own file.
func commands() []command {
	return []command{
		{name: "model", summary: "train the SDK's models, show a model card", run: runModel},
		{name: "score", summary: "score features with a shipped model", run: runScore},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a command and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	return fail(stdout, "unknown_command", fmt.Errorf("unknown command %q (try `anya help`)", args[0]))
}

func usage(w io.Writer) {
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	type entry struct {
		Command string `json:"command"`
		Summary string `json:"summary"`
	}
	out := struct {
		Usage    string  `json:"usage"`
		Commands []entry `json:"commands"`
	}{Usage: "anya <command> [subcommand] [flags] [arguments]"}
	for _, c := range cs {
		out.Commands = append(out.Commands, entry{c.name, c.summary})
	}
	writeJSON(w, out)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// fail prints the error JSON and returns the exit code for it.
func fail(w io.Writer, code string, err error) int {
	writeJSON(w, map[string]map[string]string{"error": {"code": code, "message": err.Error()}})
	if code == "usage" {
		return 2
	}
	return 1
}

// parseFlags parses args with fs, allowing flags before, between and after positional
// arguments, and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
