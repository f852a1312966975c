// Package timelock keeps the time-lock state of LAN clients that showed
// FastTrack evidence: when each was last seen, when its lock lapses and when it
// is time to probe it.
//
// A lock of T (Config.TimeLock, the --timelock option) starts or restarts on
// every piece of evidence. When T/2 has passed since the last evidence and no
// probe has been sent since, the client is due a probe: a FastTrack node ping
// (0x27) with the client's network name, sent from the firewall's own LAN
// address to the client's last FastTrack UDP port. The client's pong is
// evidence and restarts the lock, so a running client stays locked for as long
// as it runs; a client without evidence for T lapses and is forgotten.
// Clients whose UDP port is unknown (evidence from HTTP only, or restored from
// the kernel set) cannot be probed; they lapse T after their last evidence.
//
// The package does no I/O and starts no goroutines. Time is passed in by the
// caller (now arguments), so the service drives a Tracker from one goroutine
// with a timer (see Tracker.NextEvent), and tests use a fake clock.
package timelock
