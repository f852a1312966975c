// Package events sets up ftwall's logging: the slog logger (text or JSON on
// stderr, optionally also the local syslog daemon) and the per-event logs
// selected by the original ftwall's letters:
//
//	u  dropped UDP candidates (FastTrack pings)
//	U  accepted UDP candidates
//	t  dropped TCP candidates
//	T  accepted TCP candidates
//	c  clients appearing (time-locked) and vanishing (lock lapsed)
//	p  peers learned
//
// Drops done by the kernel itself (known peers, locked clients) are not
// per-packet events; CounterSummary logs their rule counters periodically.
package events
