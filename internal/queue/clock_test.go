package queue

import (
	"log/slog"
	"testing"
	"time"
)

// Packets of a burst share one clock reading per ClockEvery packets; the
// next packet reads the clock again, and so does the first after a burst's
// end.
func TestPacketTimeStamping(t *testing.T) {
	var times []time.Time
	l := &loop{r: &Reader{log: slog.New(slog.DiscardHandler)}, h: func(p *Packet) Verdict {
		times = append(times, p.Time)
		return Drop
	}}
	start := time.Now()
	n := ClockEvery + 2 // below maxBatch: no verdict is sent
	for i := range n {
		if i == ClockEvery {
			time.Sleep(time.Millisecond) // the next reading must be later
		}
		l.packet(packetMessage(uint32(i+1), HookForward, 1, 2, []byte{0x45})[nlmsgHeaderLen:])
	}
	if len(times) != n {
		t.Fatalf("handler saw %d packets, want %d", len(times), n)
	}
	for i, tm := range times {
		if tm.Before(start) {
			t.Fatalf("packet %d: time %v before the test started (%v): not stamped", i, tm, start)
		}
		if i > 0 && i < ClockEvery && !tm.Equal(times[0]) {
			t.Errorf("packet %d: time %v, want the burst's reading %v", i, tm, times[0])
		}
	}
	if !times[ClockEvery].After(times[0]) {
		t.Errorf("packet %d: time %v, want a new reading after %v", ClockEvery, times[ClockEvery], times[0])
	}
	// A burst's end (EAGAIN in readBurst) sets clockN to 0.
	l.clockN = 0
	time.Sleep(time.Millisecond)
	l.packet(packetMessage(uint32(n+1), HookForward, 1, 2, []byte{0x45})[nlmsgHeaderLen:])
	if last := times[len(times)-1]; !last.After(times[ClockEvery]) {
		t.Errorf("first packet of a new burst: time %v, want a new reading after %v", last, times[ClockEvery])
	}
}
