// Package share shares what one ftwall learned with other gateways through
// a NATS JetStream cluster: learned peers (mode peers), and for a pair of
// gateways serving one LAN also the time-locked clients (mode all).
//
// Two key-value buckets hold one entry per address (peers, locks). Each
// gateway publishes what it learns and watches both buckets; what it
// receives goes to the caller in batches (Client.Updates), which validates
// it like local evidence and writes it to the kernel through its single
// nftables writer. An entry's lifetime is its own timeout counted from the
// time the server stored it, bounded by the bucket's TTL, so nothing
// depends on per-key TTLs (which NATS 2.9, Debian 12's server, lacks) or on
// the gateways' clocks agreeing with each other.
//
// Nothing here blocks the caller: Publish and Delete put the entry in a
// bounded backlog (the oldest entry is dropped and counted when it is
// full), one goroutine publishes it, and the connection reconnects with
// backoff on its own. Package share has no I/O but NATS and knows nothing of
// nftables or packets.
package share
