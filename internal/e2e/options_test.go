package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

// TestRunOptions exercises the run options against the real kernel, one run
// after the other in one lab: --dry-run, --no-udp-block, --pong 0x28,
// --queues 2 and --teardown-on-exit.
func TestRunOptions(t *testing.T) {
	l := lab.NewT(t)
	node := startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	ping := func(peer netip.Addr) ftsim.PingResult {
		rep := runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(peer, ftPort)}})
		pr, _ := rep.Ping(ap(peer, ftPort))
		return pr
	}

	t.Run("dry-run", func(t *testing.T) {
		before := node.Report().PingsReceived
		p := startRun(t, l, "--dry-run")
		pr := ping(l.Peers4[12])
		if node.Report().PingsReceived <= before || pr.Pong != ftsim.MsgType(0x28) {
			t.Errorf("dry run: the ping must reach the node and its real 0x28 answer come back; got %v from %v", pr.Pong, pr.PongFrom)
		}
		if setHas(t, k, nft.SetPeers4, l.Peers4[12]) || setHas(t, k, nft.SetLocked4, l.ClientIP4) {
			t.Error("dry run wrote set elements")
		}
		p.stop(t)
	})

	t.Run("no-udp-block", func(t *testing.T) {
		before := node.Report().PingsReceived
		p := startRun(t, l, "--no-udp-block")
		ping(l.Peers4[13])
		if node.Report().PingsReceived <= before {
			t.Error("--no-udp-block: the ping did not reach the node")
		}
		waitFor(t, 3*time.Second, "peer learned and client locked with --no-udp-block", func() bool {
			return setHas(t, k, nft.SetPeers4, l.Peers4[13]) && setHas(t, k, nft.SetLocked4, l.ClientIP4)
		})
		p.stop(t)
	})

	t.Run("pong 0x28 and two queues", func(t *testing.T) {
		before := node.Report().PingsReceived
		p := startRun(t, l, "--pong", "0x28", "--queues", "2", "--queue", "7")
		var nodes []netip.AddrPort
		for _, a := range l.Peers4[14:22] {
			nodes = append(nodes, ap(a, ftPort))
		}
		rep := runClient(t, l, ftsim.ClientOptions{Nodes: nodes})
		for _, n := range nodes {
			if pr, _ := rep.Ping(n); pr.Pong != ftsim.MsgType(0x28) || pr.PongFrom != n {
				t.Errorf("%v: pong %v from %v; want a spoofed 0x28 from the node", n, pr.Pong, pr.PongFrom)
			}
		}
		if node.Report().PingsReceived != before {
			t.Error("pings reached the internet with two queues")
		}
		p.stop(t)
	})

	t.Run("teardown-on-exit", func(t *testing.T) {
		p := startRun(t, l, "--teardown-on-exit")
		p.stop(t)
		st, err := k.Status(context.Background(), 0)
		if err != nil || st.Present {
			t.Errorf("table still present after --teardown-on-exit: %v %+v", err, st)
		}
	})
}
