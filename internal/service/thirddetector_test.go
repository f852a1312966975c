package service

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/bittorrent"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/nft"
)

// echoProto is a third detector that exists only in this test: a made-up
// protocol whose clients send "ECHOP2P?" queries, answer a probe with
// "ECHOP2P!", and are probed from UDP port 7777. It shows that a new
// protocol needs no edit to nft, timelock, the service or the CLI: it is a
// value implementing inspect.Detector (and Prober), handed to the service.
type echoProto struct{}

const echoProtocol inspect.Protocol = "echop2p"

func (echoProto) Protocol() inspect.Protocol { return echoProtocol }

func (echoProto) KindName(k inspect.Kind) string {
	return map[inspect.Kind]string{1: "query", 2: "answer"}[k]
}

func (echoProto) Prefilters() []inspect.Prefilter {
	return []inspect.Prefilter{
		{Name: "query", Desc: "echop2p query from LAN", Hook: inspect.HookForward, L4: inspect.ProtoUDP,
			Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte("ECHOP2P?")}}},
		{Name: "answer", Desc: "echop2p probe answer", Hook: inspect.HookInput, L4: inspect.ProtoUDP,
			Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte("ECHOP2P!")}}},
	}
}

func (echoProto) Classify(p *inspect.Packet, ev *inspect.Evidence) bool {
	if p.Proto != inspect.ProtoUDP || len(p.Payload) < 8 {
		return false
	}
	switch string(p.Payload[:8]) {
	case "ECHOP2P?":
		ev.Kind, ev.Role = 1, inspect.RoleQuery
	case "ECHOP2P!":
		ev.Kind, ev.Role = 2, inspect.RoleAnswer
	default:
		return false
	}
	ev.Reason, ev.LockPort, ev.LockTag = "echo", p.SrcPort, p.Payload[8:min(len(p.Payload), 12)]
	return true
}

func (echoProto) ProbePayload(dst []byte, tag string) []byte {
	return append(append(dst, "ECHOP2P?probe:"...), tag...)
}

func (echoProto) ProbeSourcePort() uint16 { return 7777 }

func TestThirdDetector(t *testing.T) {
	all := inspect.Detectors{fasttrack.New(), bittorrent.New(), echoProto{}}
	// --protocols picks it like a built-in one.
	ds, err := registry.SelectFrom(all, []string{"echop2p", "fasttrack"})
	if err != nil || len(ds) != 2 || ds[1].Protocol() != echoProtocol {
		t.Fatalf("SelectFrom: %v %v", ds, err)
	}
	cfg := baseConfig()
	cfg.Detectors = ds
	h := start(t, cfg)
	eventually(t, "service inspecting", func() bool { return bytes.Contains(h.syncLogs(), []byte("msg=inspecting")) })

	// nft built its queue rules from the declarations alone.
	st, err := h.fw.Status(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, c := range st.Counters {
		if strings.HasPrefix(c.Rule, "queue-") {
			rules = append(rules, c.Rule)
		}
	}
	// The stream-start rules serve FastTrack, a Streamer; the forward
	// rules stand in one chain per transport (TCP, then UDP), the probe
	// answers in the input chain.
	want := []string{"queue-stream-more", "queue-stream-start", "queue-fasttrack-http", "queue-fasttrack-opener", "queue-fasttrack-ping", "queue-echop2p-query", "queue-fasttrack-pong", "queue-echop2p-answer"}
	if strings.Join(rules, " ") != strings.Join(want, " ") {
		t.Errorf("queue rules %v, want %v (bittorrent left out, echop2p in)", rules, want)
	}

	// A query: the peer is learned, the client locked with the protocol.
	cl := netip.MustParseAddrPort("10.0.1.2:5555")
	pe := netip.MustParseAddrPort("198.51.100.9:5555")
	if v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(cl, pe, []byte("ECHOP2P?net1"))); v != queue.Drop {
		t.Fatalf("query verdict %v, want drop", v)
	}
	eventually(t, "peer learned and client locked", func() bool {
		return has(t, h.fw, nft.SetPeers4, pe.Addr()) && has(t, h.fw, nft.SetLocked4, cl.Addr())
	})
	elems, err := h.fw.Elements(t.Context(), nft.SetLocked4)
	if err != nil || len(elems) != 1 || !strings.Contains(elems[0].Comment, "proto=echop2p") || !strings.Contains(elems[0].Comment, "port=5555") {
		t.Errorf("lock element %+v (%v)", elems, err)
	}

	// timelock schedules the detector's probe without knowing its bytes.
	var probe sent
	eventually(t, "probe sent", func() bool {
		for _, s := range h.snd.all() {
			if bytes.HasPrefix(s.payload, []byte("ECHOP2P?probe")) {
				probe = s
				return true
			}
		}
		return false
	})
	if probe.from != netip.MustParseAddrPort("10.0.1.1:7777") || probe.to != cl || string(probe.payload) != "ECHOP2P?probe:net1" {
		t.Fatalf("probe %v → %v %q", probe.from, probe.to, probe.payload)
	}
	ans := inspecttest.UDP(cl, probe.from, []byte("ECHOP2P!net1"))
	if v := h.q.send(t, queue.HookInput, ifLAN, ans); v != queue.Drop {
		t.Fatalf("probe answer verdict %v, want drop", v)
	}
	if h.svc.stats.ProbeAnswers.Load() != 1 {
		t.Fatalf("probe answers %d", h.svc.stats.ProbeAnswers.Load())
	}
	// A BitTorrent ping is not classified: that detector is not enabled.
	if v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(cl, netip.MustParseAddrPort("198.51.100.10:6881"), inspecttest.KRPCPing("aa"))); v != queue.Accept {
		t.Errorf("BitTorrent ping with bittorrent disabled: verdict %v", v)
	}
}
