// Package metrics exposes ftwall's Prometheus metrics (--metrics-listen
// ADDR): collectors on a private registry (nothing is registered globally),
// an HTTP handler, and a listener that shuts down with its context.
//
// Metrics (all prefixed ftwall_):
//
//	candidates_total{kind}            candidate packets inspected, by kind
//	verdicts_total{verdict}           verdicts on candidates: accept, drop
//	peers_learned_total               peers added to the block set
//	clients_locked                    time-locked clients now
//	probes_sent_total                 time-lock probes sent
//	probes_answered_total             probes answered by the client
//	spoofed_pongs_sent_total          spoofed pongs sent to clients
//	set_elements{set}                 elements in each nftables set
//	set_write_duration_seconds        latency of set element writes
//	rule_packets_total{rule}          kernel rule counters, by rule comment
//	rule_bytes_total{rule}
//	queue_packets_total{queue}        from /proc/net/netfilter/nfnetlink_queue:
//	queue_waiting{queue}              see QueueStats for each column
//	queue_dropped_total{queue}
//	queue_user_dropped_total{queue}
//
// plus the standard go_* and process_* collectors. The kernel's queue
// counters are 32-bit and wrap; Prometheus treats a wrap as a counter reset.
// Packets accepted by fail-open (queue full or socket full with the
// fail-open flag) are counted nowhere by the kernel, neither in the /proc
// file nor elsewhere.
package metrics
