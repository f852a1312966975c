package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/ftwall/ftwall/internal/audit"
	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/events"
	"github.com/ftwall/ftwall/internal/service"
	"github.com/ftwall/ftwall/nft"
)

// Main runs the ftwall command line with args (args[0] is the program
// name) and returns the process exit code: 0 success, 1 runtime error, 2
// usage error. Output goes to stdout, errors and logs to stderr. SIGINT and
// SIGTERM cancel the running command.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return newEnv(stdout, stderr).main(ctx, args)
}

// env is everything the commands take from the outside world. Main uses
// the real kernel, services and interfaces; tests replace fields (the
// firewall with nft.NewFake(), the service with a recorder).
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader // inspect's "-"

	// openFirewall connects to the kernel's nftables.
	openFirewall func() (nft.Firewall, error)
	// runService runs `ftwall run` until ctx ends.
	runService func(ctx context.Context, cfg service.Config, log *slog.Logger) error
	// runAudit analyses capture files for `ftwall inspect`.
	runAudit func(ctx context.Context, opts audit.Options, w io.Writer) error
	// defaultLAN is inspect's LAN when --lan is not given.
	defaultLAN func() []netip.Prefix
	// hasCapability reports whether the process has a capability.
	hasCapability func(capability) (bool, error)
	// interfaceNames lists the host's network interfaces.
	interfaceNames func() ([]string, error)
	// checkDir returns nil when path is an existing directory.
	checkDir func(path string) error
	// newLogger builds run's logger.
	newLogger func(w io.Writer, format string, level slog.Level, syslog bool) (*slog.Logger, io.Closer, error)
	// defaultRunDir is the run directory when --run-dir is not given.
	defaultRunDir func() string
	// boundQueues lists the NFQUEUE queues a reader is bound to, with the
	// reader's netlink port id (/proc/net/netfilter/nfnetlink_queue).
	boundQueues func() (map[uint16]uint32, error)
	// notifySignals wires SIGINT/SIGTERM to ctx; tests turn it off.
	notifySignals bool
}

func newEnv(stdout, stderr io.Writer) *env {
	return &env{
		stdout:        stdout,
		stderr:        stderr,
		stdin:         os.Stdin,
		defaultRunDir: ctl.DefaultDir,
		boundQueues:   readBoundQueues,
		openFirewall: func() (nft.Firewall, error) {
			k, err := nft.Open()
			if err != nil {
				return nil, err
			}
			return k, nil
		},
		runService:     service.Run,
		runAudit:       audit.Run,
		defaultLAN:     audit.DefaultLAN,
		hasCapability:  hasCapability,
		interfaceNames: systemInterfaceNames,
		checkDir:       existingDir,
		newLogger:      events.NewLogger,
		notifySignals:  true,
	}
}

// main runs the application and turns its error into one line on stderr
// and an exit code.
func (e *env) main(ctx context.Context, args []string) (code int) {
	defer func() {
		// A bug must not end in a stack trace an administrator cannot act
		// on; report it in one line.
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "ftwall: internal error: %v (please report this bug)\n", r)
			code = ExitRuntime
		}
	}()
	if e.notifySignals {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		go func() {
			// After the first signal, a second one ends the process at once.
			<-ctx.Done()
			stop()
		}()
	}
	if len(args) == 0 {
		args = []string{"ftwall"}
	}
	inv := &invocation{env: e, args: args}
	err := inv.app().RunContext(ctx, inv.interspersed(args))
	var qe *quietExit
	if err != nil && !errors.As(err, &qe) {
		fmt.Fprintf(e.stderr, "ftwall: %s\n", oneLine(err))
	}
	return exitCode(err)
}

// systemInterfaceNames lists the names of the host's network interfaces.
func systemInterfaceNames() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	names := make([]string, 0, len(ifs))
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return names, nil
}

// existingDir returns nil when path is an existing directory, else why not.
func existingDir(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("does not exist")
	case err != nil:
		return err
	case !st.IsDir():
		return errors.New("is not a directory")
	}
	return nil
}
