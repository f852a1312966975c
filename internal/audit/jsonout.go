package audit

import (
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"

	"github.com/ftwall/ftwall/inspect"
)

// jsonEvent is one line of `ftwall inspect --json`: the evidence of one
// packet and what the live service would do with it.
type jsonEvent struct {
	File      string     `json:"file"`
	Record    int        `json:"record"`
	Time      string     `json:"time,omitempty"`
	Kind      string     `json:"kind"`
	Src       string     `json:"src"`
	Dst       string     `json:"dst"`
	FromLAN   bool       `json:"from_lan"`
	Network   string     `json:"network,omitempty"`
	Username  string     `json:"username,omitempty"`
	Hash      string     `json:"hash,omitempty"`
	Path      string     `json:"path,omitempty"`
	UserAgent string     `json:"user_agent,omitempty"`
	Status    uint16     `json:"status,omitempty"`
	Give      string     `json:"give,omitempty"`
	Self      string     `json:"self,omitempty"`
	Supernode string     `json:"supernode,omitempty"`
	ID        *uint32    `json:"id,omitempty"`
	NodeAddr  string     `json:"node_addr,omitempty"`
	Verdict   string     `json:"verdict"`
	Peers     []jsonPeer `json:"peers,omitempty"`
	Lock      *jsonLock  `json:"lock,omitempty"`
	Reply     *jsonReply `json:"reply,omitempty"`
}

type jsonPeer struct {
	Addr   string `json:"addr"`
	Port   uint16 `json:"port"`
	Reason string `json:"reason"`
}

type jsonLock struct {
	Addr    string `json:"addr"`
	Port    uint16 `json:"port"`
	Network string `json:"network,omitempty"`
	Reason  string `json:"reason"`
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
		File: file, Record: rec, Kind: ev.Kind.String(),
		Src: addrPortString(ev.Src), Dst: addrPortString(ev.Dst), FromLAN: fromLAN,
		Network: string(ev.Network), Username: string(ev.Username), Hash: string(ev.Hash),
		Path: string(ev.Path), UserAgent: string(ev.UserAgent), Status: ev.Status, Give: string(ev.GiveID),
		Self: addrPortString(ev.SelfAddr), Supernode: addrPortString(ev.Supernode),
		NodeAddr: addrPortString(ev.NodeAddr), Verdict: d.Verdict.String(),
	}
	if !ci.Timestamp.IsZero() {
		e.Time = ci.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	if ev.Kind == inspect.KindNodePong || ev.Kind == inspect.KindID {
		id := ev.ID
		e.ID = &id
	}
	for _, p := range d.PeerList() {
		e.Peers = append(e.Peers, jsonPeer{Addr: p.Addr.String(), Port: p.Port, Reason: p.Reason})
	}
	if l := d.Lock; l.Valid {
		e.Lock = &jsonLock{Addr: l.Addr.String(), Port: l.Port, Network: string(l.Network), Reason: l.Reason}
	}
	if r := d.Reply; r.Valid {
		typ := "node-pong"
		if len(r.Payload) > 0 && r.Payload[0] == inspect.MsgSupernodePong {
			typ = "supernode-pong"
		}
		e.Reply = &jsonReply{From: r.From.String(), To: r.To.String(), Type: typ}
	}
	a.encode(e)
}

func (a *auditor) writeSummary() {
	clients := make([]string, 0)
	for _, c := range a.lockedClients() {
		clients = append(clients, c.addr.String())
	}
	a.encode(jsonSummary{
		Clients:    clients,
		Peers:      sortedAddrs(a.peers),
		Supernodes: sortedAddrs(a.supernodes),
		Packets:    a.packets,
		Events:     a.events,
	})
}

func (a *auditor) encode(v any) {
	if a.outErr != nil {
		return
	}
	a.outErr = a.enc.Encode(v)
}
