package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ftwall/ftwall/nft"
)

// sanity runs a simulated Kazaa client (ftsim) against `ftwall run` before
// any measurement, to show that the lab and ftwall work: the client's
// nodes must end up in peers4 and the client in locked4. It returns a line
// for the report.
func (r *runner) sanity(ctx context.Context) string {
	s := &Section{}
	if err := r.cleanRouter(ctx); err != nil {
		return "FAILED: " + err.Error()
	}
	defer r.cleanRouter(context.WithoutCancel(ctx))
	p, _, err := r.startFtwall(ctx, s, 1)
	if err != nil {
		return "FAILED: " + err.Error()
	}
	defer p.Kill()
	nodes := []netip.Addr{r.lab.Peers4[0], r.lab.Peers4[1]}
	args := []string{"client", "--udp-rounds", "1", "--ping-wait", "300ms", "--connect-timeout", "300ms"}
	for _, n := range nodes {
		args = append(args, "--node", netip.AddrPortFrom(n, PortFT).String())
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if out, _, err := RunTimed(cctx, r.lab.Client, r.o.Ftsim, args...); err != nil {
		return fmt.Sprintf("FAILED: %v\n%s", err, tail(out, 1000))
	}
	// ftwall writes the peers, then the lock, after the packets passed:
	// the check waits for both (under load the lock came a moment later).
	if err := r.waitLearned(ctx, nodes, r.lab.ClientIP4); err != nil {
		return fmt.Sprintf("FAILED: after `ftsim %s`: %v", ShellQuote(args), err)
	}
	if err := p.Stop(30 * time.Second); err != nil {
		return "FAILED: " + err.Error()
	}
	return fmt.Sprintf("passed: `ip netns exec <client> ftsim %s` against `%s`: its nodes landed in %s and the client in %s", ShellQuote(args), ShellQuote(append([]string{"ftwall"}, ftwallRunArgs(1)...)), nft.SetPeers4, nft.SetLocked4)
}
