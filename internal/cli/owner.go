package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/nft"
)

// serviceState is what the run directory says of ftwall run.
type serviceState struct {
	running bool
	pid     int
	// info is the service's own description; nil when it did not answer
	// on the control socket.
	info *ctl.Info
	err  error // why info is nil
}

// service looks for a running ftwall run in the run directory.
func (inv *invocation) service(c *cli.Context) serviceState {
	dir := inv.runDir(c)
	pid, held, err := ctl.Holder(dir)
	if err != nil {
		return serviceState{err: err}
	}
	if !held {
		return serviceState{}
	}
	s := serviceState{running: true, pid: pid}
	resp, err := ctl.Call(c.Context, dir, ctl.Request{Op: ctl.OpInfo})
	if err != nil {
		s.err = err
		return s
	}
	s.info = resp.Info
	return s
}

// ownerRefusal is the error of a command that would change the table
// under a running service.
func ownerRefusal(s serviceState, what, hint string) error {
	return fmt.Errorf("ftwall run (pid %d) owns %s: %s is refused while it runs, since the service would not know; %s", s.pid, tableName, what, hint)
}

// sameRuleset reports whether cfg builds the ruleset the service applied.
func sameRuleset(cfg nft.Config, info *ctl.Info) bool {
	if info == nil {
		return false
	}
	be := cfg.Backend
	if be == nft.BackendAuto {
		var err error
		if be, err = nft.ParseBackend(info.Backend); err != nil {
			return false
		}
	}
	fp, err := nft.Fingerprint(cfg, be)
	return err == nil && fp == info.Fingerprint
}
