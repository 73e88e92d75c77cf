// Command anya is the SDK's command-line tool. Every command prints JSON on stdout; errors print
// {"error": {"code": "...", "message": "..."}} and exit non-zero.
//
// Usage:
//
//	anya <command> [subcommand] [flags] [arguments]
//
// Run `anya help` for the list of commands.
package main
