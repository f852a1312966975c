package audit

import (
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// jsonEvent is one line of `ftwall inspect --json`: the evidence of one
// packet and what the live service would do with it.
type jsonEvent struct {
	File      string  `json:"file"`
	Record    int     `json:"record"`
	Time      string  `json:"time,omitempty"`
	Protocol  string  `json:"protocol"`
	Kind      string  `json:"kind"`
	Src       string  `json:"src"`
	Dst       string  `json:"dst"`
	FromLAN   bool    `json:"from_lan"`
	Network   string  `json:"network,omitempty"`
	Username  string  `json:"username,omitempty"`
	Hash      string  `json:"hash,omitempty"`
	Path      string  `json:"path,omitempty"`
	UserAgent string  `json:"user_agent,omitempty"`
	Status    uint16  `json:"status,omitempty"`
	Give      string  `json:"give,omitempty"`
	Self      string  `json:"self,omitempty"`
	Supernode string  `json:"supernode,omitempty"`
	ID        *uint32 `json:"id,omitempty"`
	NodeAddr  string  `json:"node_addr,omitempty"`
	// Detail holds the protocol's other details (BitTorrent's info_hash …).
	Detail  map[string]any `json:"detail,omitempty"`
	Verdict string         `json:"verdict"`
	Peers   []jsonPeer     `json:"peers,omitempty"`
	Lock    *jsonLock      `json:"lock,omitempty"`
	Reply   *jsonReply     `json:"reply,omitempty"`
}

type jsonPeer struct {
	Addr     string `json:"addr"`
	Port     uint16 `json:"port"`
	Protocol string `json:"protocol"`
	Reason   string `json:"reason"`
}

type jsonLock struct {
	Addr     string `json:"addr"`
	Port     uint16 `json:"port"`
	Protocol string `json:"protocol"`
	Network  string `json:"network,omitempty"`
	Reason   string `json:"reason"`
}

type jsonReply struct {
	From string `json:"from"`
	To   string `json:"to"`
	Type string `json:"type"`
}

// jsonSummary is the final line of `ftwall inspect --json`.
type jsonSummary struct {
	Clients    []string `json:"clients"`
	Peers      []string `json:"peers"`
	Supernodes []string `json:"supernodes"`
	Packets    int      `json:"packets"`
	Events     int      `json:"events"`
	// Protocols details the same per detector that found something.
	Protocols map[string]jsonProtocol `json:"protocols,omitempty"`
}

// jsonProtocol is one detector's part of the summary.
type jsonProtocol struct {
	Clients []string       `json:"clients"`
	Peers   []string       `json:"peers"`
	Events  int            `json:"events"`
	Kinds   map[string]int `json:"kinds"`
}

func addrPortString(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}

func (a *auditor) writeEvent(file string, rec int, ci gopacket.CaptureInfo, fromLAN bool) {
	ev, d := &a.ev, &a.dec
	e := jsonEvent{
		File: file, Record: rec, Protocol: string(ev.Protocol), Kind: ev.KindName(),
		Src: addrPortString(ev.Src), Dst: addrPortString(ev.Dst), FromLAN: fromLAN,
		Verdict: d.Verdict.String(),
	}
	for _, f := range ev.FieldList() {
		e.setField(f)
	}
	if !ci.Timestamp.IsZero() {
		e.Time = ci.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	for _, p := range d.PeerList() {
		e.Peers = append(e.Peers, jsonPeer{Addr: p.Addr.String(), Port: p.Port, Protocol: string(p.Protocol), Reason: p.Reason})
	}
	if l := d.Lock; l.Valid {
		e.Lock = &jsonLock{Addr: l.Addr.String(), Port: l.Port, Protocol: string(l.Protocol), Network: string(l.Tag), Reason: l.Reason}
	}
	if r := d.Reply; r.Valid {
		e.Reply = &jsonReply{From: r.From.String(), To: r.To.String(), Type: replyType(ev.Protocol, r.Payload)}
	}
	a.encode(e)
}

// setField puts one evidence detail in its place: the keys every FastTrack
// event had before detectors keep their top-level names, others go to
// Detail.
func (e *jsonEvent) setField(f inspect.Field) {
	text := string(f.Text)
	switch f.Key {
	case "network":
		e.Network = text
	case "username":
		e.Username = text
	case "hash":
		e.Hash = text
	case "path":
		e.Path = text
	case "user_agent":
		e.UserAgent = text
	case "status":
		e.Status = uint16(f.Num)
	case "give":
		e.Give = text
	case "self":
		e.Self = addrPortString(f.Addr)
	case "supernode":
		e.Supernode = addrPortString(f.Addr)
	case "id":
		id := uint32(f.Num)
		e.ID = &id
	case "node_addr":
		e.NodeAddr = addrPortString(f.Addr)
	default:
		if e.Detail == nil {
			e.Detail = map[string]any{}
		}
		switch f.Type {
		case inspect.FieldNum:
			e.Detail[f.Key] = f.Num
		case inspect.FieldAddr:
			e.Detail[f.Key] = addrPortString(f.Addr)
		case inspect.FieldHex:
			e.Detail[f.Key] = hex.EncodeToString(f.Text)
		default:
			e.Detail[f.Key] = text
		}
	}
}

// replyType names a spoofed reply.
func replyType(p inspect.Protocol, payload []byte) string {
	if p == fasttrack.Protocol && len(payload) > 0 {
		var m fasttrack.Message
		if fasttrack.ClassifyUDP(payload, &m) {
			return fasttrack.KindName(m.Kind)
		}
	}
	return "reply"
}

func (a *auditor) writeSummary() {
	clients := make([]string, 0)
	for _, c := range a.lockedClients() {
		clients = append(clients, c.addr.String())
	}
	sum := jsonSummary{
		Clients:    clients,
		Peers:      sortedAddrs(a.peers),
		Supernodes: sortedAddrs(a.supernodes),
		Packets:    a.packets,
		Events:     a.events,
	}
	for name, ps := range a.perProtocol {
		if sum.Protocols == nil {
			sum.Protocols = map[string]jsonProtocol{}
		}
		sum.Protocols[name] = jsonProtocol{Clients: sortedAddrs(ps.clients), Peers: sortedAddrs(ps.peers), Events: ps.events, Kinds: ps.kinds}
	}
	a.encode(sum)
}

func (a *auditor) encode(v any) {
	if a.outErr != nil {
		return
	}
	a.outErr = a.enc.Encode(v)
}
