package btlab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// PingQueryID is the node id of the KRPC ping PingDHT sends.
const PingQueryID = "ftwall-lab-probe-id!"

// PingQuery is the BEP 5 ping query PingDHT sends (transaction id "aa"):
// d1:ad2:id20:<PingQueryID>e1:q4:ping1:t2:aa1:y1:qe.
var PingQuery = []byte("d1:ad2:id20:" + PingQueryID + "e1:q4:ping1:t2:aa1:y1:qe")

// PingDHT sends PingQuery from src (an address of ns, e.g. the router's
// LAN address) to a DHT node at dst and returns the first datagram that
// comes back from dst within wait; nil and no error when none came.
func PingDHT(ns *lab.NS, src netip.Addr, dst netip.AddrPort, wait time.Duration) ([]byte, error) {
	c, err := ns.DialUDP(src, dst)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write(PingQuery); err != nil {
		return nil, fmt.Errorf("send KRPC ping to %s: %w", dst, err)
	}
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return nil, err
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil, nil // ICMP port unreachable: nothing listens there
	}
	if err != nil {
		return nil, fmt.Errorf("KRPC ping to %s: %w", dst, err)
	}
	return buf[:n], nil
}

// IsPingReply reports whether b is a KRPC response to PingQuery (y=r,
// t=aa, a 20-byte r.id).
func IsPingReply(b []byte) bool {
	v, err := bdecode(b)
	if err != nil {
		return false
	}
	m, _ := v.(map[string]any)
	r, _ := m["r"].(map[string]any)
	id, _ := r["id"].(string)
	return m["y"] == "r" && m["t"] == "aa" && len(id) == 20
}
