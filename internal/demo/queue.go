package demo

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// nfqueueProc lists the NFQUEUE queues bound in the reading thread's network
// namespace: one line per queue, the queue number first.
const nfqueueProc = "/proc/thread-self/net/netfilter/nfnetlink_queue"

// queueNum is the NFQUEUE number ftwall run reads by default (--queue).
const queueNum = 0

// queueBindTimeout bounds the wait for ftwall's queue reader to be bound.
const queueBindTimeout = 5 * time.Second

// copyPacket is NFQNL_COPY_PACKET, the copy mode of a reader that gets the
// packets' payload (the fourth column of nfqueueProc).
const copyPacket = "2"

// readyQueues parses nfqueueProc's text into the numbers of the queues
// bound by a reader that has set copy mode "packet" (before that, packets
// reach it without payload and pass unclassified); other lines are skipped.
func readyQueues(text string) []uint16 {
	var out []uint16
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != copyPacket {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 16)
		if err != nil {
			continue
		}
		out = append(out, uint16(n))
	}
	return out
}

// waitQueueBound waits until queue num is bound in ns by a reader that gets
// payloads: `ftwall run` logs that it is inspecting as it starts its
// readers, and a candidate packet sent before a reader is bound passes
// unqueued (the rules use bypass), one sent before the copy mode is set
// passes unclassified.
func waitQueueBound(ctx context.Context, ns *lab.NS, num uint16) error {
	deadline := time.Now().Add(queueBindTimeout)
	for {
		var text []byte
		err := ns.Do(func() error {
			var err error
			text, err = os.ReadFile(nfqueueProc)
			return err
		})
		if err != nil {
			return fmt.Errorf("read the bound NFQUEUE queues in network namespace %s: %w", ns.Name, err)
		}
		for _, q := range readyQueues(string(text)) {
			if q == num {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s after ftwall said it was inspecting, the router's NFQUEUE %d still has no reader that copies packets", queueBindTimeout, num)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(pollEvery):
		}
	}
}
