package bench

import (
	"testing"

	"github.com/ftwall/ftwall/internal/metrics"
)

func TestDrainCount(t *testing.T) {
	before := []metrics.QueueStats{{Queue: 0, IDSequence: 5000, Waiting: 4000}, {Queue: 1, IDSequence: 0xfffffff0, Waiting: 4032}}
	// Queue 0 drained and got 10 more packets, all verdicted; queue 1's
	// id_sequence wrapped and 2 packets still wait.
	after := []metrics.QueueStats{{Queue: 0, IDSequence: 5010, Waiting: 0}, {Queue: 1, IDSequence: 0x00000010, Waiting: 2}}
	if got, want := drainCount(before, after), uint64(4010+4030+32); got != want {
		t.Errorf("drainCount = %d, want %d", got, want)
	}
	total, least := waitingTotal(before)
	if total != 8032 || least != 4000 {
		t.Errorf("waitingTotal = %d, %d; want 8032, 4000", total, least)
	}
	if r := (drainResult{packets: 1000}).rate(); r != 0 {
		t.Errorf("rate of a drain that took no time = %v, want 0", r)
	}
}

func TestProcState(t *testing.T) {
	for _, c := range []struct {
		line string
		want byte
		ok   bool
	}{
		{"123 (ftwall) T 1 2 3", 'T', true},
		{"123 (a (b) c) S 1", 'S', true},
		{"123 (x) t", 't', true},
		{"123 ftwall", 0, false},
		{"123 (x)", 0, false},
	} {
		got, err := procState(c.line)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("procState(%q) = %q, %v; want %q (ok %v)", c.line, got, err, c.want, c.ok)
		}
	}
}
