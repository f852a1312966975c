package nft

import (
	"fmt"
	"strings"
)

// Backend selects how queue rules hand packets to user space.
type Backend uint8

// Queue backends.
const (
	// BackendAuto probes the kernel: native where it has nft_queue, else compat.
	BackendAuto Backend = iota
	// BackendNative is the nftables `queue` expression (CONFIG_NFT_QUEUE).
	BackendNative
	// BackendCompat is the xtables NFQUEUE target inside an nftables rule
	// (CONFIG_NFT_COMPAT + CONFIG_NETFILTER_XT_TARGET_NFQUEUE), as iptables-nft
	// writes it.
	BackendCompat
)

// String returns "auto", "native" or "compat".
func (b Backend) String() string {
	switch b {
	case BackendAuto:
		return "auto"
	case BackendNative:
		return "native"
	case BackendCompat:
		return "compat"
	}
	return fmt.Sprintf("Backend(%d)", uint8(b))
}

func (b Backend) valid() bool { return b <= BackendCompat }

// ParseBackend parses "auto", "native" or "compat" (case-insensitive).
func ParseBackend(s string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto":
		return BackendAuto, nil
	case "native":
		return BackendNative, nil
	case "compat":
		return BackendCompat, nil
	}
	return 0, fmt.Errorf("unknown queue backend %q: want auto, native or compat", s)
}

// MarshalText implements encoding.TextMarshaler (JSON and YAML use it).
func (b Backend) MarshalText() ([]byte, error) {
	if !b.valid() {
		return nil, fmt.Errorf("invalid queue backend %d", uint8(b))
	}
	return []byte(b.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *Backend) UnmarshalText(text []byte) error {
	v, err := ParseBackend(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
