package demo

import (
	"sync"
	"testing"

	"github.com/ftwall/ftwall/internal/lab"
)

// TestProcessSurvivesDiscardedThreads: ftwall is started with a parent-death
// signal, which the kernel sends when the starting *thread* ends. NS.Do
// ends a thread after every call; however many run meanwhile, the process
// must keep running until stop.
func TestProcessSurvivesDiscardedThreads(t *testing.T) {
	l := lab.NewT(t)
	p, err := startProcess(l.Router, "sleep", []string{"60"}, newLogSink(nil, "", "", 5))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if err := l.Client.Do(func() error { return nil }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if !p.running() {
		t.Fatalf("the process ended while threads were discarded: %v", p.err)
	}
	wasRunning, err := p.stop()
	if !wasRunning || err == nil || err.Error() != "signal: terminated" {
		t.Errorf("stop: was running %v, exit %v; want a running process ended by SIGTERM", wasRunning, err)
	}
}
