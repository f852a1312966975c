// Package cli is ftwall's command line: the urfave/cli application with the
// setup, teardown, status, inspect and run commands, their flags, the
// FTWALL_* environment variables and the YAML configuration file, the
// validation of every option and the mapping of errors to exit codes.
//
// Precedence of an option's value: command-line flag, then the environment
// variable FTWALL_<NAME> (FTWALL_INSPECT_<NAME> for inspect), then the YAML
// file given with --config, then the built-in default.
//
// Exit codes: 0 success, 1 runtime error (kernel, files, network), 2 usage
// error (unknown command or option, bad value, bad configuration file), 3
// status found no ftwall table.
// Every error is printed as one line on standard error: "ftwall: <problem>".
package cli
