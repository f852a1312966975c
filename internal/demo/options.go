package demo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// DefaultLabPrefix starts the names of the demo's namespaces.
const DefaultLabPrefix = "ftwdemo"

// TimeLock is the --timelock the demo runs ftwall with: short, so a lab kept
// with Options.Keep shows the lock lapse soon after the client stops.
const TimeLock = 30 * time.Second

// ErrNotRoot is returned by Run when the process may not create network
// namespaces.
var ErrNotRoot = errors.New("the demo needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create its network namespaces: run it with sudo, e.g. `sudo make demo`")

// Options configure Run.
type Options struct {
	// FtwallPath is the ftwall binary to run on the router (required).
	FtwallPath string
	// Out gets the narrative (nil = discarded).
	Out io.Writer
	// Verbose copies ftwall's own log to Out as it runs.
	Verbose bool
	// Keep leaves the lab and ftwall running after the demo, printing how to
	// look around, until ctx ends; then everything is removed.
	Keep bool
	// LabPrefix starts the namespace names (lower-case letters and digits;
	// "" = DefaultLabPrefix).
	LabPrefix string

	// geteuid returns the effective user id (nil = os.Geteuid); tests of
	// the root check replace it.
	geteuid func() int
	// learnWait bounds each wait for ftwall's set writes (0 =
	// learnTimeout); tests of a failing ftwall shorten it.
	learnWait time.Duration
}

// check fills defaults and makes sure the demo can run.
func (o Options) check() (Options, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.learnWait <= 0 {
		o.learnWait = learnTimeout
	}
	if o.LabPrefix == "" {
		o.LabPrefix = DefaultLabPrefix
	}
	if lab.PrefixFrom(o.LabPrefix) != o.LabPrefix {
		return o, fmt.Errorf("lab prefix %q: want 1 to 24 lower-case letters or digits", o.LabPrefix)
	}
	if o.FtwallPath == "" {
		return o, errors.New("no ftwall binary given: build it with `make build` and pass --ftwall bin/ftwall")
	}
	abs, err := filepath.Abs(o.FtwallPath)
	if err != nil {
		return o, fmt.Errorf("ftwall binary %s: %w", o.FtwallPath, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return o, fmt.Errorf("ftwall binary: %w (build it with `make build`)", err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return o, fmt.Errorf("ftwall binary %s is not an executable file", abs)
	}
	o.FtwallPath = abs
	// Besides ftwall the demo runs ip (internal/lab, `ip netns exec`) and
	// nft (to show the sets the way an administrator would see them).
	for _, p := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(p); err != nil {
			return o, fmt.Errorf("the demo needs the %s program (Debian: apt-get install iproute2 nftables): %w", p, err)
		}
	}
	// Root last: a missing binary or program is reported to anyone.
	geteuid := o.geteuid
	if geteuid == nil {
		geteuid = os.Geteuid
	}
	if geteuid() != 0 {
		return o, ErrNotRoot
	}
	return o, nil
}
