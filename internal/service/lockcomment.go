package service

import (
	"strconv"
	"strings"
)

// A locked client's kernel element carries its FastTrack UDP port and
// network name in its comment, "port=3456 net=KaZaA", so that after a restart
// the time-lock can go on probing it (the kernel set is the truth; this is
// only what the probe needs).

// lockComment formats the comment; "" when the port is unknown.
func lockComment(port uint16, network []byte) string {
	if port == 0 {
		return ""
	}
	c := "port=" + strconv.Itoa(int(port))
	if len(network) > 0 {
		c += " net=" + string(network)
	}
	return c
}

// parseLockComment reads a comment written by lockComment; ok is false for
// anything else (a comment written by hand, an old ftwall).
func parseLockComment(s string) (port uint16, network string, ok bool) {
	for _, f := range strings.Fields(s) {
		k, v, found := strings.Cut(f, "=")
		if !found {
			return 0, "", false
		}
		switch k {
		case "port":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return 0, "", false
			}
			port = uint16(n)
		case "net":
			network = v
		default:
			return 0, "", false
		}
	}
	return port, network, port != 0
}
