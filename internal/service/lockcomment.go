package service

import (
	"strconv"
	"strings"

	"github.com/ftwall/ftwall/timelock"
)

// A locked client's kernel element carries the probe target in its comment,
// "proto=fasttrack port=3456 tag=KaZaA", so that after a restart the
// time-lock can go on probing it with the right protocol (the kernel set is
// the truth; this is only what the probe needs). ftwall before detectors
// wrote "port=3456 net=KaZaA", which means FastTrack.

// legacyLockProtocol is the protocol of comments without proto=.
const legacyLockProtocol = "fasttrack"

// lockComment formats the comment; "" when the port is unknown.
func lockComment(protocol string, port uint16, tag []byte) string {
	if port == 0 {
		return ""
	}
	c := "proto=" + protocol + " port=" + strconv.Itoa(int(port))
	if t := string(tag); t != "" && timelock.ValidTag(t) {
		c += " tag=" + t
	}
	return c
}

// parseLockComment reads a comment written by lockComment (or by ftwall
// before detectors); ok is false for anything else (a comment written by
// hand).
func parseLockComment(s string) (protocol string, port uint16, tag string, ok bool) {
	protocol = legacyLockProtocol
	for _, f := range strings.Fields(s) {
		k, v, found := strings.Cut(f, "=")
		if !found {
			return "", 0, "", false
		}
		switch k {
		case "proto":
			if !validProtocolName(v) {
				return "", 0, "", false
			}
			protocol = v
		case "port":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return "", 0, "", false
			}
			port = uint16(n)
		case "tag", "net":
			if !timelock.ValidTag(v) {
				return "", 0, "", false
			}
			tag = v
		default:
			return "", 0, "", false
		}
	}
	return protocol, port, tag, port != 0
}

// validProtocolName: 1 to 32 of a-z, 0-9 and -.
func validProtocolName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
