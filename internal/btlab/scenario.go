package btlab

import (
	"fmt"
	"strconv"
	"strings"
)

// parseScenario reads the words of TestManualScenario's BTLAB_SCENARIO.
func parseScenario(spec string) (seeder, leecher Options, err error) {
	leecher.Client = Aria2
	encs := map[string]Encryption{"preferred": EncryptionPreferred, "required": EncryptionRequired, "allowed": EncryptionAllowed}
	for _, w := range strings.Fields(spec) {
		k, v, _ := strings.Cut(w, "=")
		ok := true
		switch k {
		case "leecher":
			leecher.Client = ClientKind(v)
		case "seeder":
			seeder.Client = ClientKind(v)
		case "tracker":
			leecher.Tracker, ok = map[string]TrackerKind{"http": TrackerHTTP, "udp": TrackerUDP, "none": TrackerNone}[v]
		case "family":
			leecher.Family, ok = map[string]Family{"dual": DualStack, "ipv4": IPv4Only, "ipv6": IPv6Only}[v]
		case "enc":
			leecher.Encryption, ok = encs[v]
		case "senc":
			seeder.Encryption, ok = encs[v]
		case "noutp":
			leecher.NoUTP = true
		case "snoutp":
			seeder.NoUTP = true
		case "nodht":
			leecher.NoDHT = true
		case "port", "dhtport":
			n, perr := strconv.ParseUint(v, 10, 16)
			ok = perr == nil
			if k == "port" {
				leecher.Port = uint16(n)
			} else {
				leecher.DHTPort = uint16(n)
			}
		default:
			ok = false
		}
		if !ok {
			return seeder, leecher, fmt.Errorf("scenario word %q not understood", w)
		}
	}
	return seeder, leecher, nil
}
