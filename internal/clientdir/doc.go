// Package clientdir keeps one file per time-locked client in a directory
// (--client-dir DIR), for scripts and watchers: the file appears when the
// client is locked, is updated on new evidence, and disappears when the lock
// lapses.
//
// A file is named by the client's address in its canonical text form
// ("10.0.1.2", "fd00:1::2"; ':' is valid in Linux file names) and holds
// key=value lines:
//
//	# ftwall time-locked client
//	addr=10.0.1.2
//	port=1214
//	network=KaZaA
//	protocol=fasttrack
//	first_seen=2024-05-01T12:00:00Z
//	last_evidence=2024-05-01T12:04:10Z
//	expires=2024-05-01T12:06:10Z
//	reason=udp ping to 198.51.100.7:1214
//
// Times are RFC 3339 in UTC; port 0 means unknown. Files are replaced
// atomically (written to a temporary file whose name starts with '.', then
// renamed), so a watcher never reads half a file. They are not fsynced: after
// a crash, Reconcile rewrites the directory from the current locks.
package clientdir
