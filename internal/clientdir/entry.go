package clientdir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/ftwall/ftwall/internal/oneline"
	"github.com/ftwall/ftwall/timelock"
)

// header is the first line of a client file.
const header = "# ftwall time-locked client"

// Entry is the content of one client file.
type Entry struct {
	Addr     netip.Addr
	Protocol string // protocol of the evidence that gave the probe target ("fasttrack")
	Port     uint16 // probe port (FastTrack UDP port, DHT port), 0 = unknown
	// Network is the probe tag: for FastTrack the network name.
	Network      string
	FirstSeen    time.Time
	LastEvidence time.Time
	Expires      time.Time
	Reason       string
}

// FromClient converts a time-locked client.
func FromClient(c timelock.Client) Entry {
	return Entry{
		Addr:         c.Addr,
		Protocol:     c.Protocol,
		Port:         c.Port,
		Network:      c.Tag,
		FirstSeen:    c.FirstSeen,
		LastEvidence: c.LastEvidence,
		Expires:      c.Expires,
		Reason:       c.Reason,
	}
}

// normalize gives the address a client file is named by.
func normalize(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// FileName returns the file name for a client address.
func FileName(addr netip.Addr) string { return normalize(addr).String() }

// ParseFileName reports whether name is a client file name, that is an
// address in canonical form without a zone, and returns the address. Other
// names are never touched by this package.
func ParseFileName(name string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(name)
	if err != nil || a.Zone() != "" || a.Is4In6() || a.String() != name {
		return netip.Addr{}, false
	}
	return a, true
}

// appendEntry formats e as a client file.
func appendEntry(dst []byte, e Entry) []byte {
	dst = append(dst, header+"\naddr="...)
	dst = normalize(e.Addr).AppendTo(dst)
	dst = append(dst, "\nport="...)
	dst = strconv.AppendUint(dst, uint64(e.Port), 10)
	dst = append(dst, "\nnetwork="...)
	dst = append(dst, clean(e.Network)...)
	dst = append(dst, "\nprotocol="...)
	dst = append(dst, clean(e.Protocol)...)
	for _, f := range []struct {
		key string
		t   time.Time
	}{{"first_seen", e.FirstSeen}, {"last_evidence", e.LastEvidence}, {"expires", e.Expires}} {
		dst = append(dst, '\n')
		dst = append(dst, f.key...)
		dst = append(dst, '=')
		if !f.t.IsZero() {
			dst = f.t.UTC().Truncate(time.Second).AppendFormat(dst, time.RFC3339)
		}
	}
	dst = append(dst, "\nreason="...)
	dst = append(dst, clean(e.Reason)...)
	return append(dst, '\n')
}

// clean makes a value fit on one line (oneline.Clean).
func clean(s string) string { return string(oneline.Clean([]byte(s))) }

var errNoAddr = errors.New("no addr= line")

// ParseEntry parses a client file. Unknown keys and # comments are ignored;
// addr is required; empty times are zero.
func ParseEntry(data []byte) (Entry, error) {
	var e Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte("="))
		if !ok {
			return Entry{}, fmt.Errorf("line %d: %q is not key=value", n, line)
		}
		key, val := string(bytes.TrimSpace(k)), string(bytes.TrimSpace(v))
		var err error
		switch key {
		case "addr":
			e.Addr, err = netip.ParseAddr(val)
			e.Addr = normalize(e.Addr)
		case "port":
			var p uint64
			p, err = strconv.ParseUint(val, 10, 16)
			e.Port = uint16(p)
		case "network":
			e.Network = clean(val)
		case "protocol":
			e.Protocol = clean(val)
		case "reason":
			e.Reason = clean(val)
		case "first_seen":
			e.FirstSeen, err = parseTime(val)
		case "last_evidence":
			e.LastEvidence, err = parseTime(val)
		case "expires":
			e.Expires, err = parseTime(val)
		}
		if err != nil {
			return Entry{}, fmt.Errorf("line %d: %s: %w", n, key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return Entry{}, err
	}
	if !e.Addr.IsValid() {
		return Entry{}, errNoAddr
	}
	return e, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("year %d out of range", y)
	}
	return t, nil
}
