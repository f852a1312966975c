package nft

import (
	"fmt"
	"strings"
)

// LockAction is what happens to a new outbound TCP connection of a
// time-locked client.
type LockAction uint8

// Lock actions.
const (
	// LockReject answers with a TCP reset, so the client fails fast and falls
	// back to UDP (the default).
	LockReject LockAction = iota
	// LockDrop silently drops the connection attempt.
	LockDrop
)

// String returns "reject" or "drop".
func (a LockAction) String() string {
	switch a {
	case LockReject:
		return "reject"
	case LockDrop:
		return "drop"
	}
	return fmt.Sprintf("LockAction(%d)", uint8(a))
}

func (a LockAction) valid() bool { return a <= LockDrop }

// ParseLockAction parses "reject" or "drop" (case-insensitive).
func ParseLockAction(s string) (LockAction, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "reject":
		return LockReject, nil
	case "drop":
		return LockDrop, nil
	}
	return 0, fmt.Errorf("unknown lock action %q: want reject or drop", s)
}

// MarshalText implements encoding.TextMarshaler.
func (a LockAction) MarshalText() ([]byte, error) {
	if !a.valid() {
		return nil, fmt.Errorf("invalid lock action %d", uint8(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *LockAction) UnmarshalText(text []byte) error {
	v, err := ParseLockAction(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
