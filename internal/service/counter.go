package service

import "sync/atomic"

// counterShards is how many cache lines a packet-path counter is split
// over: queue reader i adds to shard i % counterShards, so readers on
// different CPUs do not bounce one line between them for every packet.
const counterShards = 8

// counter is a packet-path counter, sharded by queue reader. Load sums the
// shards; Add (the control goroutine, tests) uses shard 0.
type counter struct {
	shard [counterShards]paddedUint64
}

// paddedUint64 fills a 64-byte cache line.
type paddedUint64 struct {
	atomic.Uint64
	_ [56]byte
}

// addAt adds n on reader r's shard.
func (c *counter) addAt(r int, n uint64) { c.shard[r%counterShards].Add(n) }

// Add adds n (on shard 0).
func (c *counter) Add(n uint64) { c.shard[0].Add(n) }

// Load is the counter's total.
func (c *counter) Load() uint64 {
	var n uint64
	for i := range c.shard {
		n += c.shard[i].Load()
	}
	return n
}
