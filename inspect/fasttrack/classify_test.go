package fasttrack_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

func classify(t *testing.T, pkt []byte) (fasttrack.Message, bool) {
	t.Helper()
	var p inspect.Packet
	if err := inspect.Decode(pkt, &p); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	var ev fasttrack.Message
	ok := fasttrack.ClassifyMessage(&p, &ev)
	return ev, ok
}

func TestClassifyUDPMessages(t *testing.T) {
	for _, fam := range families() {
		for _, name := range networkNames() {
			cases := []struct {
				msg      string
				payload  []byte
				kind     inspect.Kind
				network  string
				checkout func(t *testing.T, ev *fasttrack.Message)
			}{
				{"ping", inspecttest.Ping(name), fasttrack.KindPing, name, nil},
				{"ping enc a9", inspecttest.PingEnc(name, 0xa9), fasttrack.KindPing, name, nil},
				// Bytes after the name's NUL: a peer reads the name and
				// answers; so is it evidence.
				{"ping trailing byte", append(inspecttest.Ping(name), 0), fasttrack.KindPing, name, nil},
				{"ping trailing text", append(inspecttest.Ping(name), "xyz"...), fasttrack.KindPing, name, nil},
				{"supernode pong", inspecttest.SupernodePong(name), fasttrack.KindSupernodePong, name, func(t *testing.T, ev *fasttrack.Message) {
					if ev.Load != 40 {
						t.Errorf("Load = %d, want 40", ev.Load)
					}
				}},
			}
			for _, c := range cases {
				t.Run(fmt.Sprintf("%s/%s/%s", fam.name, c.msg, name), func(t *testing.T) {
					ev, ok := classify(t, inspecttest.UDP(fam.client, fam.peer, c.payload))
					if !ok || ev.Kind != c.kind {
						t.Fatalf("Classify = %v kind %v, want %v", ok, ev.Kind, c.kind)
					}
					if string(ev.Network) != c.network {
						t.Errorf("Network = %q, want %q", ev.Network, c.network)
					}
					if c.checkout != nil {
						c.checkout(t, &ev)
					}
				})
			}
		}
		t.Run(fam.name+"/node pong", func(t *testing.T) {
			ev, ok := classify(t, inspecttest.UDP(fam.peer, fam.client, inspecttest.NodePong(0xdeadbeef)))
			if !ok || ev.Kind != fasttrack.KindNodePong || ev.ID != 0xdeadbeef || ev.NodeAddr.IsValid() {
				t.Fatalf("got ok=%v %+v", ok, ev)
			}
		})
		t.Run(fam.name+"/node pong with address", func(t *testing.T) {
			ev, ok := classify(t, inspecttest.UDP(fam.peer, fam.client, inspecttest.NodePongAddr(9, [4]byte{198, 51, 100, 9}, 2222)))
			if !ok || ev.Kind != fasttrack.KindNodePong || ev.ID != 9 || ev.NodeAddr != netip.MustParseAddrPort("198.51.100.9:2222") {
				t.Fatalf("got ok=%v %+v", ok, ev)
			}
		})
		t.Run(fam.name+"/id", func(t *testing.T) {
			ev, ok := classify(t, inspecttest.UDP(fam.client, fam.peer, inspecttest.ID(0x01020304)))
			if !ok || ev.Kind != fasttrack.KindID || ev.ID != 0x01020304 {
				t.Fatalf("got ok=%v %+v", ok, ev)
			}
		})
	}
}

// The example ping of the specification, byte for byte.
func TestClassifySpecExamplePing(t *testing.T) {
	payload := []byte{0x27, 0x00, 0x00, 0x00, 0x29, 0x80, 0x4B, 0x61, 0x5A, 0x61, 0x41, 0x00}
	if !bytes.Equal(payload, inspecttest.Ping("KaZaA")) {
		t.Fatalf("AppendPing differs from the spec example: % x", inspecttest.Ping("KaZaA"))
	}
	ev, ok := classify(t, inspecttest.UDP(client4, peer4, payload))
	if !ok || ev.Kind != fasttrack.KindPing || string(ev.Network) != "KaZaA" || fasttrack.KnownNetwork(ev.Network) != "KaZaA" {
		t.Fatalf("got ok=%v %+v", ok, ev)
	}
	if got := len(inspecttest.Ping("fileshare")); got != 16 {
		t.Errorf("fileshare ping length %d, want 16", got)
	}
	if got := len(inspecttest.Ping("Grokster")); got != 15 {
		t.Errorf("Grokster ping length %d, want 15", got)
	}
	if got := len(inspecttest.SupernodePong("KaZaA")); got != 17 {
		t.Errorf("KaZaA supernode pong length %d, want 17", got)
	}
}

func TestNetworkNamesCaseInsensitive(t *testing.T) {
	for _, n := range []string{"kazaa", "KAZAA", "KaZaA"} {
		if fasttrack.KnownNetwork([]byte(n)) != "KaZaA" || !fasttrack.SameNetwork([]byte(n), []byte("KaZaA")) {
			t.Errorf("%q not recognised as KaZaA", n)
		}
	}
	if fasttrack.KnownNetwork([]byte("NewNet")) != "" || fasttrack.SameNetwork([]byte("KaZaA"), []byte("KaZaB")) {
		t.Error("unknown names matched a known one")
	}
}

func TestClassifyHTTP(t *testing.T) {
	hashReq := inspecttest.GetHash()
	lower := bytes.ReplaceAll(hashReq, []byte("X-Kazaa-"), []byte("x-kazaa-"))
	bareLF := bytes.ReplaceAll(hashReq, []byte("\r\n"), []byte("\n"))
	upper := bytes.ReplaceAll(hashReq, []byte("X-Kazaa-Username"), []byte("X-KAZAA-USERNAME"))
	type want struct {
		kind                       inspect.Kind
		username, network, hash    string
		self, supernode            string
		status                     uint16
		give, path, userAgentStart string
	}
	full := want{kind: fasttrack.KindHTTPRequest, username: "alice", network: "KaZaA", hash: inspecttest.Hash,
		self: inspecttest.SelfIP, supernode: inspecttest.Supernode, path: "/.hash=" + inspecttest.Hash, userAgentStart: "KazaaClient"}
	cases := []struct {
		name    string
		payload []byte
		want    want
	}{
		{"get hash", hashReq, full},
		{"lower-case header names", lower, full},
		{"upper-case header names", upper, full},
		{"bare LF", bareLF, full},
		{"get id/name giFT", inspecttest.GetIDName(), want{kind: fasttrack.KindHTTPRequest, path: "/1234/song.mp3", userAgentStart: "giFT-FastTrack"}},
		{"peerenabler", inspecttest.GetPeerEnabler(), want{kind: fasttrack.KindHTTPRequest, hash: inspecttest.Hash, path: "/.hash=" + inspecttest.Hash, userAgentStart: "PeerEnabler/"}},
		{"download", inspecttest.GetPath("/.download/42"), want{kind: fasttrack.KindHTTPRequest, username: "alice", network: "KaZaA", self: inspecttest.SelfIP, supernode: inspecttest.Supernode, path: "/.download/42", userAgentStart: "KazaaClient"}},
		{"supernode", inspecttest.GetPath("/.supernode"), want{kind: fasttrack.KindHTTPRequest, username: "alice", network: "KaZaA", self: inspecttest.SelfIP, supernode: inspecttest.Supernode, path: "/.supernode", userAgentStart: "KazaaClient"}},
		{"status", inspecttest.GetPath("/.status"), want{kind: fasttrack.KindHTTPRequest, username: "alice", network: "KaZaA", self: inspecttest.SelfIP, supernode: inspecttest.Supernode, path: "/.status", userAgentStart: "KazaaClient"}},
		{"network", inspecttest.GetPath("/.network"), want{kind: fasttrack.KindHTTPRequest, username: "alice", network: "KaZaA", self: inspecttest.SelfIP, supernode: inspecttest.Supernode, path: "/.network", userAgentStart: "KazaaClient"}},
		{"files", inspecttest.GetPath("/.files"), want{kind: fasttrack.KindHTTPRequest, username: "alice", network: "KaZaA", self: inspecttest.SelfIP, supernode: inspecttest.Supernode, path: "/.files", userAgentStart: "KazaaClient"}},
		{"response 206", inspecttest.Response(206), want{kind: fasttrack.KindHTTPResponse, username: "bob", network: "KaZaA", self: "203.0.113.50:1214", status: 206, userAgentStart: "KazaaClient"}},
		{"response 503", inspecttest.Response(503), want{kind: fasttrack.KindHTTPResponse, username: "bob", network: "KaZaA", self: "203.0.113.50:1214", status: 503, userAgentStart: "KazaaClient"}},
		{"response 404 http/1.0", bytes.Replace(inspecttest.Response(404), []byte("HTTP/1.1"), []byte("HTTP/1.0"), 1), want{kind: fasttrack.KindHTTPResponse, username: "bob", network: "KaZaA", self: "203.0.113.50:1214", status: 404, userAgentStart: "KazaaClient"}},
		{"give", inspecttest.Give(4711), want{kind: fasttrack.KindGive, give: "4711"}},
		{"give bare LF", []byte("GIVE 17\n"), want{kind: fasttrack.KindGive, give: "17"}},
		{"give then more", []byte("GIVE 1234\r\nGET / HTTP/1.1\r\n"), want{kind: fasttrack.KindGive, give: "1234"}},
		{"only x-kazaa-xferid", inspecttest.Lines("GET /.hash="+inspecttest.Hash+" HTTP/1.1", "X-Kazaa-XferId: 99"), want{kind: fasttrack.KindHTTPRequest, hash: inspecttest.Hash, path: "/.hash=" + inspecttest.Hash}},
		{"headers cut, complete ones count", []byte("GET /.hash=" + inspecttest.Hash + " HTTP/1.1\r\nX-Kazaa-Username: alice\r\nX-Kazaa-IP: 192.0.2.1"), want{kind: fasttrack.KindHTTPRequest, username: "alice", hash: inspecttest.Hash, path: "/.hash=" + inspecttest.Hash}},
		{"bad ip value ignored", inspecttest.Lines("GET /.files HTTP/1.1", "X-Kazaa-IP: 999.1.2.3:1214", "X-Kazaa-SupernodeIP: 198.51.100.20"), want{kind: fasttrack.KindHTTPRequest, path: "/.files"}},
	}
	for _, fam := range families() {
		for _, c := range cases {
			t.Run(fam.name+"/"+c.name, func(t *testing.T) {
				ev, ok := classify(t, inspecttest.TCP(fam.client, fam.peer, c.payload))
				if !ok {
					t.Fatalf("not classified: %q", c.payload)
				}
				w := c.want
				got := want{kind: ev.Kind, username: string(ev.Username), network: string(ev.Network), hash: string(ev.Hash),
					status: ev.Status, give: string(ev.GiveID), path: string(ev.Path)}
				if ev.SelfAddr.IsValid() {
					got.self = ev.SelfAddr.String()
				}
				if ev.Supernode.IsValid() {
					got.supernode = ev.Supernode.String()
				}
				if w.userAgentStart != "" && bytes.HasPrefix(ev.UserAgent, []byte(w.userAgentStart)) {
					got.userAgentStart = w.userAgentStart
				}
				if got != w {
					t.Errorf("got  %+v\nwant %+v", got, w)
				}
			})
		}
	}
}

func TestNearMissesAreNotEvidence(t *testing.T) {
	for _, m := range nearMisses() {
		t.Run(m.name, func(t *testing.T) {
			ev, ok := classify(t, m.pkt)
			if ok || ev.Kind != fasttrack.KindNone {
				t.Fatalf("classified as %v: %+v", ev.Kind, ev)
			}
			if !reflect.DeepEqual(ev, fasttrack.Message{}) {
				t.Errorf("evidence not zeroed: %+v", ev)
			}
		})
	}
}
