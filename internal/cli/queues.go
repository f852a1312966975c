package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// nfnetlinkQueueFile lists the bound NFQUEUE queues of this network
// namespace, one line per queue: number, peer port id, queue length, copy
// mode, copy range, dropped, user dropped, last id, 1.
const nfnetlinkQueueFile = "/proc/net/netfilter/nfnetlink_queue"

func readBoundQueues() (map[uint16]uint32, error) {
	f, err := os.Open(nfnetlinkQueueFile)
	if errors.Is(err, os.ErrNotExist) {
		return map[uint16]uint32{}, nil // nfnetlink_queue not loaded: nothing bound
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseBoundQueues(bufio.NewScanner(f))
}

func parseBoundQueues(sc *bufio.Scanner) (map[uint16]uint32, error) {
	out := map[uint16]uint32{}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		num, err1 := strconv.ParseUint(fields[0], 10, 16)
		port, err2 := strconv.ParseUint(fields[1], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: unexpected line %q", nfnetlinkQueueFile, sc.Text())
		}
		out[uint16(num)] = uint32(port)
	}
	return out, sc.Err()
}
