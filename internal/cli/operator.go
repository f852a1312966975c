package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/service"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

func blockOptions() []option {
	return []option{
		runDirOption(),
		{name: optTimeout, kind: kindDuration, usage: "keep the addresses blocked for `DURATION` (default: the set's --peer-timeout); a block with its own timeout is not written to the storefile"},
		{name: optReason, kind: kindString, usage: "why (`TEXT`, at most 128 bytes): kept in the element comment and the storefile"},
		{name: optStore, kind: kindString, usage: "storefile `FILE` to record the block in when ftwall run is not running (the running service uses its own)"},
		{name: optAllow, kind: kindList, usage: "addresses `CIDR` never to block (the running service checks its own allowlist, protected and own addresses)"},
		{name: optJSON, kind: kindBool, usage: "print the results as JSON"},
	}
}

func unblockOptions() []option {
	return []option{
		runDirOption(),
		{name: optPardon, kind: kindDuration, defD: defaultPardon, usage: "do not learn (or lock) the addresses again for `DURATION` (kept in the sets pardon4/pardon6; 0 = no pardon)"},
		{name: optStore, kind: kindString, usage: "storefile `FILE` to remove the addresses from when ftwall run is not running (the running service uses its own)"},
		{name: optJSON, kind: kindBool, usage: "print the results as JSON"},
	}
}

func unlockOptions() []option {
	return []option{
		runDirOption(),
		{name: optPardon, kind: kindDuration, defD: defaultPardon, usage: "do not lock (or learn) the addresses again for `DURATION` (kept in the sets pardon4/pardon6; 0 = no pardon)"},
		{name: optJSON, kind: kindBool, usage: "print the results as JSON"},
	}
}

func listOptions() []option {
	return []option{
		{name: optJSON, kind: kindBool, usage: "print the elements as JSON lines, one object per line"},
	}
}

// operatorReport is the JSON output of block, unblock and unlock.
type operatorReport struct {
	// Via is "service" when the running ftwall run carried the request
	// out, "direct" when the command did (no service ran).
	Via     string       `json:"via"`
	PID     int          `json:"pid,omitempty"`
	Results []ctl.Result `json:"results"`
}

func (inv *invocation) block(c *cli.Context) error {
	addrs, err := addrArgs(c)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(c.String(optReason))
	if err := service.CheckReason(reason); err != nil {
		return inv.badOption(optReason, "%v", err)
	}
	timeout := c.Duration(optTimeout)
	if timeout < 0 || (timeout > 0 && timeout < time.Second) {
		return inv.badOption(optTimeout, "%v: want at least 1s (0 = the set's default)", timeout)
	}
	var allow []netip.Prefix
	for _, s := range listValue(c, optAllow) {
		p, err := parsePrefix(s)
		if err != nil {
			return inv.badOption(optAllow, "%v", err)
		}
		allow = append(allow, p)
	}
	req := ctl.Request{Op: ctl.OpBlock, Addrs: addrs, Timeout: timeout, Reason: reason}
	return inv.operate(c, req, true, func(ctx context.Context, op *service.Operator, parsed []netip.Addr) []ctl.Result {
		set := &inspect.Settings{Allow: allow}
		set.Compile()
		op.Candidate = set.PeerCandidate
		res, _ := op.Block(ctx, parsed, timeout, reason)
		return res
	})
}

func (inv *invocation) unblock(c *cli.Context) error {
	addrs, err := addrArgs(c)
	if err != nil {
		return err
	}
	pardon, err := inv.pardonValue(c)
	if err != nil {
		return err
	}
	req := ctl.Request{Op: ctl.OpUnblock, Addrs: addrs, Pardon: pardon}
	return inv.operate(c, req, false, func(ctx context.Context, op *service.Operator, parsed []netip.Addr) []ctl.Result {
		res, _, _ := op.Unblock(ctx, parsed, pardon)
		return res
	})
}

func (inv *invocation) unlock(c *cli.Context) error {
	addrs, err := addrArgs(c)
	if err != nil {
		return err
	}
	pardon, err := inv.pardonValue(c)
	if err != nil {
		return err
	}
	req := ctl.Request{Op: ctl.OpUnlock, Addrs: addrs, Pardon: pardon}
	return inv.operate(c, req, true, func(ctx context.Context, op *service.Operator, parsed []netip.Addr) []ctl.Result {
		op.Store = nil // locks are not in the storefile
		res, _ := op.Unlock(ctx, parsed, pardon)
		return res
	})
}

func (inv *invocation) pardonValue(c *cli.Context) (time.Duration, error) {
	d := c.Duration(optPardon)
	if d < 0 || (d > 0 && d < time.Second) {
		return 0, inv.badOption(optPardon, "%v: want at least 1s, or 0 for no pardon", d)
	}
	return d, nil
}

// addrArgs checks the ADDR arguments.
func addrArgs(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	if len(args) == 0 {
		return nil, usagef("no address given: ftwall %s ADDR... (see ftwall %s --help)", c.Command.Name, c.Command.Name)
	}
	if len(args) > ctl.MaxAddrs {
		return nil, usagef("%d addresses: at most %d at once", len(args), ctl.MaxAddrs)
	}
	for _, a := range args {
		if p, err := netip.ParseAddr(a); err != nil || p.Zone() != "" {
			return nil, usagef("%q is not an IPv4 or IPv6 address", a)
		}
	}
	return args, nil
}

// operate sends req to the running service, or, when none runs, carries
// it out itself (holding the run directory's lock meanwhile, so that no
// service starts half-way): direct gets an Operator on the kernel and the
// storefile. needTable refuses to go on without the table.
func (inv *invocation) operate(c *cli.Context, req ctl.Request, needTable bool,
	direct func(ctx context.Context, op *service.Operator, addrs []netip.Addr) []ctl.Result) error {
	if err := inv.requireCapabilities("ftwall "+c.Command.Name, capNetAdmin); err != nil {
		return err
	}
	dir := inv.runDir(c)
	owner, err := ctl.Acquire(dir, 0)
	var held *ctl.HeldError
	if errors.As(err, &held) {
		resp, err := ctl.Call(c.Context, dir, req)
		if err != nil {
			return fmt.Errorf("ftwall run (pid %d) owns %s, but did not carry the request out: %w", held.PID, tableName, err)
		}
		return inv.writeResults(c, operatorReport{Via: "service", PID: held.PID, Results: resp.Results})
	}
	if err != nil {
		return fmt.Errorf("--run-dir: %w", err)
	}
	defer owner.Release()
	var addrs []netip.Addr
	for _, a := range req.Addrs {
		addrs = append(addrs, netip.MustParseAddr(a).Unmap()) // checked by addrArgs
	}
	var st *store.Store
	if path := strings.TrimSpace(c.String(optStore)); path != "" && c.Command.Name != "unlock" {
		if st, err = store.Open(path, 0); err != nil {
			return fmt.Errorf("--store: %w", err)
		}
	}
	var res []ctl.Result
	err = inv.withFirewall(func(fw nft.Firewall) error {
		status, err := fw.Status(c.Context, 0)
		if err != nil {
			return fmt.Errorf("read %s: %w", tableName, err)
		}
		if !status.Present {
			if needTable || st == nil {
				return fmt.Errorf("%s is not present (ftwall setup or ftwall run creates it)", tableName)
			}
			// Unblock with no table: the storefile alone.
			st.Delete(addrs...)
			for _, a := range addrs {
				res = append(res, ctl.Result{Addr: a.String(), Done: "removed from the storefile (the table is absent)"})
			}
			return nil
		}
		res = direct(c.Context, &service.Operator{Firewall: fw, Store: st}, addrs)
		return nil
	})
	if err != nil {
		return err
	}
	if st != nil {
		if err := st.Save(); err != nil {
			return fmt.Errorf("the kernel sets are changed, but the storefile is not: %w", err)
		}
	}
	return inv.writeResults(c, operatorReport{Via: "direct", Results: res})
}

// writeResults prints what a request did; an address refused makes the
// command fail (exit status 1) after the others are done.
func (inv *invocation) writeResults(c *cli.Context, rep operatorReport) error {
	if rep.Results == nil {
		rep.Results = []ctl.Result{}
	}
	var err error
	if c.Bool(optJSON) {
		err = writeJSON(inv.env.stdout, rep)
	} else {
		var b strings.Builder
		for _, r := range rep.Results {
			if r.Error != "" {
				fmt.Fprintf(&b, "%s: %s\n", r.Addr, r.Error)
			} else {
				fmt.Fprintf(&b, "%s: %s\n", r.Addr, r.Done)
			}
		}
		_, err = io.WriteString(inv.env.stdout, b.String())
	}
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range rep.Results {
		if r.Error != "" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d addresses not done", failed, len(rep.Results))
	}
	return nil
}

// runDir is --run-dir, or the default for this network namespace.
func (inv *invocation) runDir(c *cli.Context) string {
	if d := strings.TrimSpace(c.String(optRunDir)); d != "" {
		return d
	}
	return inv.env.defaultRunDir()
}

// listElement is one line of `ftwall list --json`.
type listElement struct {
	Set            string  `json:"set"`
	Addr           string  `json:"addr"`
	ExpiresSeconds float64 `json:"expires_seconds"`
	TimeoutSeconds float64 `json:"timeout_seconds"`
	Comment        string  `json:"comment,omitempty"`
}

// list prints the elements of the peer, lock or pardon sets, streaming
// (a million peers are never held in memory).
func (inv *invocation) list(c *cli.Context) error {
	what := c.Args().First()
	sets := map[string][]string{
		"peers":    {nft.SetPeers4, nft.SetPeers6},
		"locked":   {nft.SetLocked4, nft.SetLocked6},
		"pardoned": {nft.SetPardon4, nft.SetPardon6},
	}[what]
	if sets == nil || c.Args().Len() != 1 {
		return usagef("ftwall list peers|locked|pardoned: say which sets to list (see ftwall list --help)")
	}
	if err := inv.requireCapabilities("reading the firewall", capNetAdmin); err != nil {
		return err
	}
	asJSON := c.Bool(optJSON)
	w := inv.env.stdout
	n := 0
	var werr error
	err := inv.withFirewall(func(fw nft.Firewall) error {
		st, err := fw.Status(c.Context, 0)
		if err != nil {
			return fmt.Errorf("read %s: %w", tableName, err)
		}
		if !st.Present {
			_ = writeLine(inv.env.stderr, tableName+" is not present (ftwall setup or ftwall run creates it)")
			return &quietExit{code: ExitAbsent}
		}
		for _, set := range sets {
			err := fw.EachElement(c.Context, set, func(e nft.Element) bool {
				n++
				if asJSON {
					werr = writeJSONLine(w, listElement{Set: set, Addr: e.Addr.String(), ExpiresSeconds: seconds(e.Expires), TimeoutSeconds: seconds(e.Timeout), Comment: e.Comment})
				} else {
					line := fmt.Sprintf("%-40s %-8s %s", e.Addr, set, expiresText(seconds(e.Expires)))
					if e.Comment != "" {
						line += "  " + e.Comment
					}
					_, werr = io.WriteString(w, line+"\n")
				}
				return werr == nil
			})
			if werr != nil {
				return fmt.Errorf("write output: %w", werr)
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", set, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 && !asJSON {
		return writeLine(inv.env.stderr, "no "+what+" elements")
	}
	return nil
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
