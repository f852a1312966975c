package service

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"strings"
)

// Protected addresses are never blocked, whatever a LAN host makes ftwall
// see: the gateway's resolvers and the next hops of its default routes
// (blocking either would cut the whole LAN off), plus Config.Protect.

// protectedSources are the system files the protected addresses are read
// from (tests point them elsewhere).
type protectedSources struct {
	resolvConf, route4, route6 string
}

var systemProtectedSources = protectedSources{"/etc/resolv.conf", "/proc/net/route", "/proc/net/ipv6_route"}

// readProtected returns the resolvers and default gateways. A missing file
// contributes nothing; a file that cannot be read is an error.
func readProtected(src protectedSources) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range []struct {
		path  string
		parse func([]byte) []netip.Addr
	}{{src.resolvConf, parseResolvConf}, {src.route4, parseRoute4}, {src.route6, parseRoute6}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f.parse(b)...)
	}
	return out, nil
}

// parseResolvConf returns the nameserver addresses of resolv.conf(5).
func parseResolvConf(b []byte) []netip.Addr {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil {
				out = append(out, a.WithZone("").Unmap())
			}
		}
	}
	return out
}

// parseRoute4 returns the gateways of the default routes in /proc/net/route
// (destination 00000000, mask 00000000; addresses in host byte order,
// little-endian on the machines ftwall runs on).
func parseRoute4(b []byte) []netip.Addr {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		g, err := hex.DecodeString(f[2])
		if err != nil || len(g) != 4 {
			continue
		}
		a := netip.AddrFrom4([4]byte{g[3], g[2], g[1], g[0]})
		if !a.IsUnspecified() {
			out = append(out, a)
		}
	}
	return out
}

// parseRoute6 returns the next hops of the default routes in
// /proc/net/ipv6_route (destination ::/0).
func parseRoute6(b []byte) []netip.Addr {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != strings.Repeat("0", 32) || f[1] != "00" {
			continue
		}
		g, err := hex.DecodeString(f[4])
		if err != nil || len(g) != 16 {
			continue
		}
		a := netip.AddrFrom16([16]byte(g))
		if !a.IsUnspecified() {
			out = append(out, a)
		}
	}
	return out
}

// withEmbeddings adds, for every IPv4 prefix, its NAT64 (64:ff9b::/96, RFC
// 6052) and 6to4 (2002::/16, RFC 3056) forms: an allowlisted or protected
// IPv4 host must not be blocked under its IPv6 names either.
func withEmbeddings(ps []netip.Prefix) []netip.Prefix {
	out := append([]netip.Prefix(nil), ps...)
	for _, p := range ps {
		if !p.Addr().Is4() {
			continue
		}
		v4 := p.Masked().Addr().As4()
		var nat64 [16]byte
		copy(nat64[:], []byte{0, 0x64, 0xff, 0x9b})
		copy(nat64[12:], v4[:])
		out = append(out, netip.PrefixFrom(netip.AddrFrom16(nat64), 96+p.Bits()))
		var six2four [16]byte
		six2four[0], six2four[1] = 0x20, 0x02
		copy(six2four[2:], v4[:])
		out = append(out, netip.PrefixFrom(netip.AddrFrom16(six2four), 16+p.Bits()))
	}
	return out
}
