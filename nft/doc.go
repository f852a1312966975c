// Package nft owns ftwall's nftables table, `inet ftwall`.
//
// The table holds six address sets (blocked peers, time-locked clients and
// the allowlist, each for IPv4 and IPv6), two sets of interface names (LAN
// and WAN) and two base chains: one on the forward
// hook that drops traffic to and from blocked peers, rejects new TCP
// connections of time-locked clients and queues FastTrack candidate packets to
// user space, and one on the input hook that queues answers to the time-lock
// probe. The kernel drops known peers and locked clients by itself; only
// candidate packets cross user space.
//
// Everything is written over netlink with github.com/google/nftables, each
// change in one atomic batch: a ruleset is either applied completely or not at
// all, and rebuilding the chains keeps the set elements. The package never
// reads or writes any other table and never runs the nft program.
//
// [Kernel] talks to the kernel; [Fake] is an in-memory [Firewall] for the unit
// tests of callers.
package nft
