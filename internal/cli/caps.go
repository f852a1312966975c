package cli

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// capability is a Linux capability (its bit number) the commands need.
type capability int

const (
	capNetAdmin capability = unix.CAP_NET_ADMIN
	capNetRaw   capability = unix.CAP_NET_RAW
)

func (c capability) String() string {
	switch c {
	case capNetAdmin:
		return "CAP_NET_ADMIN"
	case capNetRaw:
		return "CAP_NET_RAW"
	}
	return fmt.Sprintf("capability %d", int(c))
}

// hasCapability reports whether c is in the process's effective capability
// set (root has every capability unless some were dropped).
func hasCapability(c capability) (bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("read the process capabilities: %w", err)
	}
	if c < 0 || c >= 64 {
		return false, fmt.Errorf("%s: out of range", c)
	}
	return data[c/32].Effective&(1<<(c%32)) != 0, nil
}

// requireCapabilities checks up front, before any kernel change, that the
// process has caps; what names the action for the message.
func (inv *invocation) requireCapabilities(what string, caps ...capability) error {
	var missing []string
	for _, c := range caps {
		ok, err := inv.env.hasCapability(c)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, c.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("permission denied: %s needs %s; run ftwall as root", what, strings.Join(missing, " and "))
}
