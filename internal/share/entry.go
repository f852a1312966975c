package share

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
)

// Kind says which bucket an entry is in.
type Kind uint8

// Kinds.
const (
	KindPeer Kind = iota // a learned peer (peers4/peers6)
	KindLock             // a time-locked LAN client (locked4/locked6)
)

func (k Kind) String() string {
	if k == KindLock {
		return "lock"
	}
	return "peer"
}

// Entry is one shared address.
type Entry struct {
	Kind Kind
	Addr netip.Addr
	// Deleted is a deletion (ftwall unblock or unlock on a gateway): the
	// address leaves the set.
	Deleted bool
	// Timeout is the entry's lifetime from Stored (0 = no expiry).
	Timeout time.Duration
	// Protocol and Reason say why the publishing gateway learned it.
	Protocol, Reason string
	// Gateway is the publishing gateway's name.
	Gateway string
	// Probe is a lock's probe target in the form of the lock set's element
	// comment ("proto=… port=… tag=…"; empty for none).
	Probe string
	// Stored is when the server stored the entry (its clock), Revision the
	// bucket's sequence number; both are set on received entries.
	Stored   time.Time
	Revision uint64
}

// MaxReason is the longest reason an entry carries (bytes).
const MaxReason = 64

// Limits of an entry's fields; a value over them is refused.
const (
	maxValue    = 1024
	maxProtocol = 32
	maxReason   = MaxReason
	maxProbe    = 251 // the longest element comment the kernel keeps
	// maxTimeout bounds an entry's timeout (ten years; a larger one is a
	// forgery or a mistake).
	maxTimeout = 10 * 365 * 24 * time.Hour
)

// wire is an entry's value in the bucket (JSON, so that an operator can
// read and write one with the nats CLI).
type wire struct {
	V        int64  `json:"v"`
	Timeout  int64  `json:"timeout"` // seconds; 0 = no expiry
	Protocol string `json:"protocol,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Gateway  string `json:"gateway,omitempty"`
	Probe    string `json:"probe,omitempty"`
}

// Key is the bucket key of a: the IPv4 dotted quad, or the IPv6 text form
// with ':' written as '_' (NATS keys have no ':').
func Key(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return strings.ReplaceAll(a.String(), ":", "_")
}

// ParseKey parses a bucket key; only the canonical form Key writes is
// accepted, so that one address has one key.
func ParseKey(k string) (netip.Addr, error) {
	if len(k) > 64 {
		return netip.Addr{}, errors.New("key too long for an address")
	}
	a, err := netip.ParseAddr(strings.ReplaceAll(k, "_", ":"))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("key %q is not an address", printable(k))
	}
	if !isKeyOf(a, k) {
		return netip.Addr{}, fmt.Errorf("key %q is not in canonical form (want %q)", printable(k), Key(a))
	}
	return a, nil
}

// isKeyOf reports whether k is Key(a), without allocating.
func isKeyOf(a netip.Addr, k string) bool {
	if a.Is4In6() {
		return false // Key writes the IPv4 form
	}
	var buf [64]byte
	b := a.AppendTo(buf[:0])
	if len(b) != len(k) {
		return false
	}
	for i, c := range b {
		if c == ':' {
			c = '_'
		}
		if k[i] != c {
			return false
		}
	}
	return true
}

// Encode returns e's value.
func Encode(e Entry) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	return json.Marshal(wire{V: 1, Timeout: int64(e.Timeout / time.Second), Protocol: e.Protocol, Reason: e.Reason, Gateway: e.Gateway, Probe: e.Probe})
}

// Decode parses a received entry: its bucket kind, key, value, the server's
// time of storing it, its revision and whether it is a deletion. Whatever
// the value holds, Decode returns an error or an entry within the limits;
// it never panics.
func Decode(kind Kind, key string, value []byte, stored time.Time, revision uint64, deleted bool) (Entry, error) {
	return decode(kind, key, value, stored, revision, deleted, nil)
}

func decode(kind Kind, key string, value []byte, stored time.Time, revision uint64, deleted bool, in *interner) (Entry, error) {
	a, err := ParseKey(key)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Kind: kind, Addr: a, Deleted: deleted, Stored: stored, Revision: revision}
	if deleted {
		return e, nil
	}
	if len(value) > maxValue {
		return Entry{}, fmt.Errorf("value of %d bytes (at most %d)", len(value), maxValue)
	}
	var w wire
	if err := decodeWire(value, &w, in); err != nil {
		return Entry{}, fmt.Errorf("value is not an ftwall entry (JSON): %v", err)
	}
	if w.V != 1 {
		return Entry{}, fmt.Errorf("value version %d (this ftwall reads version 1)", w.V)
	}
	if w.Timeout < 0 || w.Timeout > int64(maxTimeout/time.Second) {
		return Entry{}, fmt.Errorf("timeout %d s out of range 0-%d", w.Timeout, int64(maxTimeout/time.Second))
	}
	e.Timeout = time.Duration(w.Timeout) * time.Second
	e.Protocol, e.Reason, e.Gateway, e.Probe = w.Protocol, w.Reason, w.Gateway, w.Probe
	if err := e.check(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

func (e *Entry) check() error {
	if !e.Addr.IsValid() {
		return errors.New("no address")
	}
	if len(e.Protocol) > maxProtocol || !tokenValid(e.Protocol) {
		return fmt.Errorf("protocol %q: want up to %d lower-case letters, digits or '-'", printable(e.Protocol), maxProtocol)
	}
	if len(e.Reason) > maxReason || !textValid(e.Reason) {
		return fmt.Errorf("reason %q: want up to %d printable characters", printable(e.Reason), maxReason)
	}
	if e.Gateway != "" && !nameValid(e.Gateway) {
		return fmt.Errorf("gateway %q: want 1-64 letters, digits, '.', '-' or '_'", printable(e.Gateway))
	}
	if len(e.Probe) > maxProbe || !textValid(e.Probe) {
		return fmt.Errorf("probe %q: want up to %d printable characters", printable(e.Probe), maxProbe)
	}
	if e.Timeout < 0 || e.Timeout > maxTimeout {
		return fmt.Errorf("timeout %v out of range", e.Timeout)
	}
	return nil
}

// Remaining is e's lifetime left at now, bounded by limit (0 = no bound);
// forever is true for an entry that never expires. An entry whose lifetime
// is over has left <= 0.
func (e *Entry) Remaining(now time.Time, limit time.Duration) (left time.Duration, forever bool) {
	t := e.Timeout
	if limit > 0 && (t == 0 || t > limit) {
		t = limit
	}
	if t == 0 {
		return 0, true
	}
	age := now.Sub(e.Stored)
	if age < 0 {
		age = 0 // the server's clock is ahead of ours: count from now
	}
	return t - age, false
}

func tokenValid(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func textValid(s string) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// printable shortens s and escapes what is not printable, for messages.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
}
