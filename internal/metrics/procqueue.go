package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
)

// DefaultQueueStatsFile is where the kernel shows its NFQUEUE instances. The
// file is per network namespace: /proc/net is the namespace of the process's
// main thread.
const DefaultQueueStatsFile = "/proc/net/netfilter/nfnetlink_queue"

// QueueStats is one line of /proc/net/netfilter/nfnetlink_queue: an NFQUEUE
// queue with a bound reader. The kernel's columns are queue_number
// peer_portid queue_total copy_mode copy_range queue_dropped user_dropped
// id_sequence 1.
type QueueStats struct {
	Queue      uint16 // queue_number
	PeerPortID uint32 // netlink port id of the bound reader
	Waiting    uint32 // queue_total: packets queued now, waiting for a verdict
	CopyMode   uint8  // 0 none, 1 meta, 2 packet
	CopyRange  uint32 // bytes of each packet copied to the reader
	// Dropped counts packets dropped because the queue was full (never
	// counted with fail-open: those are accepted uncounted).
	Dropped uint32
	// UserDropped counts packets dropped because the reader's netlink
	// socket was full (with fail-open: accepted uncounted).
	UserDropped uint32
	// IDSequence is the id of the last packet handed to the reader: the
	// number of packets queued since the queue was bound (32-bit, wraps).
	IDSequence uint32
}

// ReadQueueStats reads and parses a queue statistics file (normally
// DefaultQueueStatsFile). A missing file means nfnetlink_queue is not loaded:
// the error then matches fs.ErrNotExist.
func ReadQueueStats(path string) ([]QueueStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: queue statistics: %w", err)
	}
	defer f.Close()
	st, err := ParseQueueStats(f)
	if err != nil {
		return nil, fmt.Errorf("metrics: %s: %w", path, err)
	}
	return st, nil
}

// ParseQueueStats parses the content of /proc/net/netfilter/nfnetlink_queue:
// one line per queue of at least 8 space-separated decimal columns (further
// columns are ignored). Blank lines are skipped; any other malformed line is
// an error naming its line number.
func ParseQueueStats(r io.Reader) ([]QueueStats, error) {
	var out []QueueStats
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 8 {
			return nil, fmt.Errorf("line %d: %d columns, want at least 8: %q", n, len(fields), sc.Bytes())
		}
		var v [8]uint64
		for i := range v {
			bits := 32
			switch i {
			case 0:
				bits = 16
			case 3:
				bits = 8
			}
			var err error
			v[i], err = strconv.ParseUint(string(fields[i]), 10, bits)
			if err != nil {
				return nil, fmt.Errorf("line %d, column %d: %w", n, i+1, err)
			}
		}
		out = append(out, QueueStats{
			Queue:       uint16(v[0]),
			PeerPortID:  uint32(v[1]),
			Waiting:     uint32(v[2]),
			CopyMode:    uint8(v[3]),
			CopyRange:   uint32(v[4]),
			Dropped:     uint32(v[5]),
			UserDropped: uint32(v[6]),
			IDSequence:  uint32(v[7]),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
