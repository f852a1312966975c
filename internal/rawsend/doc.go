// Package rawsend sends UDP datagrams with an arbitrary source address and
// port through raw IP sockets (IP_HDRINCL for IPv4, IPPROTO_RAW for IPv6).
//
// ftwall uses it for the spoofed FastTrack pongs (from a blocked peer's
// address to the LAN client) and for the time-lock probes (from the
// firewall's own LAN address). It needs CAP_NET_RAW.
package rawsend
