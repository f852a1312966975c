// Package store keeps the learned FastTrack peers in a storefile (--store
// FILE) so they survive restarts and reboots.
//
// File format (text, UTF-8, one peer a line):
//
//	# ftwall peers v1
//	198.51.100.7:1214 2024-05-01T12:00:00Z udp ping to peer
//	[2001:db8:100::7]:3456 2024-05-01T12:00:03Z X-Kazaa-SupernodeIP header
//
// Each line is ADDR:PORT, the time the peer was last seen (RFC 3339, written
// in UTC with second precision) and a free-text reason (the rest of the line,
// may be empty). Blank lines and other # comments are ignored. Files of the
// original ftwall 1.x (lines "a.b.c.d:port" and nothing else) are read too:
// such peers get the file's modification time as last seen. A malformed line
// is reported as a LineError with its line number and skipped; every other
// line is still read. The file is rewritten in the v1 format on the next save.
//
// ftwall writes the file sorted by address (IPv4 before IPv6) with one line
// per address, and never holds it in memory: at start-up the peers are
// streamed from the file into the kernel, and a save merges the old file,
// line by line, with the peers learned since the last save, leaving out
// expired peers. Memory is proportional to the peers learned between two
// saves, not to the file. A file in another order (ftwall 1.x, or edited by
// hand) still loads, with the newest entry per address winning; it is read
// into memory once and written sorted at the next save.
//
// Saving is crash-safe: the new content goes to a temporary file in the same
// directory, which is synced, renamed over the old file, and the directory is
// synced, so a kill -9 or a power loss at any moment leaves either the old or
// the new complete file. The file mode is 0640.
package store
