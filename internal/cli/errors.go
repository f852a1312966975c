package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
)

// Exit codes of the ftwall command.
const (
	ExitOK      = 0
	ExitRuntime = 1
	ExitUsage   = 2
	// ExitAbsent: `status` found no ftwall table (its report is still
	// written), so scripts and monitoring can tell without parsing it.
	ExitAbsent = 3
)

// quietExit ends a command with an exit code and no error line: the
// command has already said what there is to say.
type quietExit struct{ code int }

func (e *quietExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError marks an error the user fixes by changing the command line,
// the environment or the configuration file (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usage error (exit code 2) with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// runtimeError marks an error that happened while doing the work (exit
// code 1). Errors an action returns without a mark are treated as runtime
// errors too; errors from outside the actions (flag parsing, the Before
// hooks) are usage errors.
type runtimeError struct{ err error }

func (e *runtimeError) Error() string { return e.err.Error() }
func (e *runtimeError) Unwrap() error { return e.err }

// exitCode maps an error returned by the application to the process exit
// code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var qe *quietExit
	if errors.As(err, &qe) {
		return qe.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var re *runtimeError
	if errors.As(err, &re) {
		return ExitRuntime
	}
	// Everything else comes from urfave/cli itself (flag parsing, unknown
	// help topics) before any action ran.
	return ExitUsage
}

// kernelHint returns advice for errors whose cause an administrator can
// fix on the machine: missing privileges or a kernel without nftables.
func kernelHint(err error) string {
	// A file ftwall cannot read or write (a storefile, a capture) is a
	// file permission problem, not a missing capability.
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return ""
	}
	switch {
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return "ftwall needs CAP_NET_ADMIN: run it as root"
	case errors.Is(err, syscall.EAFNOSUPPORT), errors.Is(err, syscall.EPROTONOSUPPORT):
		return "this kernel has no nftables support (enable CONFIG_NF_TABLES or load the nf_tables module)"
	}
	return ""
}

// oneLine renders err as the single line printed after "ftwall: ":
// newlines and runs of spaces are collapsed and a hint for permission or
// kernel problems is appended.
func oneLine(err error) string {
	var lines []string
	for l := range strings.SplitSeq(err.Error(), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	msg := strings.Join(lines, "; ")
	if msg == "" {
		msg = "unknown error"
	}
	if hint := kernelHint(err); hint != "" && !strings.Contains(msg, "CAP_NET_ADMIN") && !strings.Contains(msg, "nftables support") {
		msg += " (" + hint + ")"
	}
	return msg
}
