// Package metrics exposes ftwall's Prometheus metrics (--metrics-listen
// ADDR): collectors on a private registry (nothing is registered globally),
// an HTTP handler, and a listener that shuts down with its context.
//
// Metrics (all prefixed ftwall_):
//
//	build_info{version,goversion,backend}  always 1
//	candidates_total{protocol,kind}   candidate packets inspected
//	verdicts_total{verdict}           verdicts on candidates: accept, drop
//	peers_learned_total               peers added to the block set
//	peers_over_budget_total           peers not learned: the client's budget was spent
//	forged_sources_total{reason}      evidence ignored by the MAC check (each piece once a second: repeats are held by the reader)
//	clients_locked                    time-locked clients now
//	locks_kept_by_kernel_total        locks the kernel refreshed by itself
//	probes_sent_total                 time-lock probes sent
//	probes_answered_total             probes answered by the client
//	spoofed_pongs_sent_total          spoofed pongs sent to clients
//	spoofed_pongs_withheld_total      pongs withheld by --pong-rate/--pong-burst
//	packets_not_sent_total{what,reason} replies and probes dropped instead of sent
//	evidence_lost_total               evidence the control goroutine could not take
//	failopen_bypassed                 candidates let through uninspected (estimate)
//	set_elements{set}                 elements in each nftables set: moved at
//	                                  every write (peers learned or blocked,
//	                                  unblocked; locks from the time-lock state),
//	                                  corrected from the kernel every 10 s (expiries)
//	set_full_total{set}               elements not added: the set was full
//	set_write_duration_seconds        latency of set element writes
//	table_present                     1 while table inet ftwall exists
//	table_repairs_total               re-applications after others changed the table
//	streams_tracked                   LAN connection starts waiting to be judged
//	streams_evicted_total             starts forgotten because the table was full
//	streams_refused_total             starts dropped: the host had 64 waiting
//	stream_rewrites_total             retransmissions that changed bytes seen
//	rule_packets_total{rule}          kernel rule counters, by rule comment
//	rule_bytes_total{rule}
//	queue_packets_total{queue}        from /proc/net/netfilter/nfnetlink_queue:
//	queue_waiting{queue}              see QueueStats for each column
//	queue_dropped_total{queue}
//	queue_user_dropped_total{queue}
//
// and, with --share-url (sharing with other gateways, internal/share):
//
//	share_connected                   1 while connected to a NATS server
//	share_loaded                      1 once the buckets' contents are applied
//	share_published_total             entries published and acknowledged
//	share_publish_errors_total        failed attempts (retried)
//	share_dropped_total               dropped from the full publish backlog
//	share_backlog                     entries waiting to be published
//	share_received_total              entries received
//	share_undecodable_total           received values that were no entry
//	share_applied_total{kind}         written to the kernel: peer, lock
//	share_deleted_total               deletions applied
//	share_expired_total               lifetime over on arrival
//	share_rejected_total{reason}      refused by validation: not-candidate,
//	                                  not-lan, pardoned, no-timelock
//	share_lag_seconds                 age of the last live entry applied
//	share_reconnects_total            reconnections
//
// plus the standard go_* and process_* collectors. The kernel's queue
// counters are 32-bit and wrap; Prometheus treats a wrap as a counter reset.
// Packets accepted by fail-open (queue full or socket full with the
// fail-open flag) are counted nowhere by the kernel, neither in the /proc
// file nor elsewhere.
package metrics
