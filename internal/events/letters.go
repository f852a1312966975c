package events

import (
	"fmt"
	"strings"
)

// Mask is a set of event kinds, one bit per letter.
type Mask uint8

// The event kinds and their letters.
const (
	UDPDropped  Mask = 1 << iota // u
	UDPAccepted                  // U
	TCPDropped                   // t
	TCPAccepted                  // T
	Clients                      // c
	Peers                        // p

	// All is every event kind (the letters "all").
	All = UDPDropped | UDPAccepted | TCPDropped | TCPAccepted | Clients | Peers
)

// letters lists the letters in bit order.
const letters = "uUtTcp"

// ParseLetters parses event letters such as "ucp" (see the package
// documentation). "" selects nothing, "all" everything; repeated letters are
// fine; any other character is an error naming it.
func ParseLetters(s string) (Mask, error) {
	if strings.EqualFold(strings.TrimSpace(s), "all") {
		return All, nil
	}
	var m Mask
	for _, r := range s {
		i := strings.IndexRune(letters, r)
		if i < 0 {
			return 0, fmt.Errorf("unknown log letter %q in %q: use u/U (dropped/accepted UDP), t/T (dropped/accepted TCP), c (clients), p (peers), or \"all\"", r, s)
		}
		m |= 1 << i
	}
	return m, nil
}

// Has reports whether m includes every kind of k.
func (m Mask) Has(k Mask) bool { return k != 0 && m&k == k }

// String returns the letters of m in the order uUtTcp ("" for none).
func (m Mask) String() string {
	var b strings.Builder
	for i := range len(letters) {
		if m&(1<<i) != 0 {
			b.WriteByte(letters[i])
		}
	}
	return b.String()
}
