// Package lab builds throw-away network namespaces for ftwall's integration
// tests, the demo and the benchmarks: a router between two LAN hosts and an
// "internet" namespace that owns 32 IPv4 and 32 IPv6 peer addresses, all on
// private or documentation address ranges that exist only inside the lab.
//
//	client  (eth0 10.0.1.2, fd00:1::2)   ─┐ lan0
//	client2 (eth0 10.0.2.2, fd00:2::2)   ─┤ lan1  router ── wan0 ── internet (eth0 203.0.113.2,
//	                                                              2001:db8:1::2; lo: 198.51.100.1–.32,
//	                                                              2001:db8:100::1–::20)
//
// Each namespace is created on a dedicated OS thread that is locked and never
// unlocked (so the thread dies with its goroutine), bind-mounted to
// /run/netns/<name> so that `ip netns exec <name>` works, and handed around as
// an open file. The calling thread never changes namespace: work inside a
// namespace runs through NS.Do on a fresh locked thread that is discarded
// afterwards, and sockets created there keep their namespace when used from
// any goroutine.
//
// Namespace names are "<prefix>-<pid>-<random>-<role>". Close removes
// everything; a lab whose process was killed before it could clean up is
// removed by the next New, which recognises the dead pid in the names.
package lab
