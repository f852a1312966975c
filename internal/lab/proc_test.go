package lab

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProcSurvivesDiscardedThreads: a program is started with a parent-death
// signal, which the kernel sends when the starting *thread* ends. NS.Do
// ends a thread after every call; however many run meanwhile, the program
// must keep running until Stop.
func TestProcSurvivesDiscardedThreads(t *testing.T) {
	l := NewT(t)
	var out Buffer
	p, err := StartProc(l.Router, "sleep", &out, nil, "sleep", "60")
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
	if !p.Running() {
		t.Fatalf("the program ended while threads were discarded: %v", p.Err())
	}
	wasRunning, err := p.Stop(10 * time.Second)
	if !wasRunning || err == nil || err.Error() != "signal: terminated" {
		t.Errorf("Stop: was running %v, exit %v; want a running program ended by SIGTERM", wasRunning, err)
	}
	if wasRunning, err := p.Stop(time.Second); wasRunning || err == nil {
		t.Errorf("second Stop: was running %v, %v", wasRunning, err)
	}
}

// TestProcStopKillsAfterLimit: a program that ignores SIGTERM (sleep,
// inheriting the ignored signal from the shell) is killed when the limit
// passes, and Stop says so.
func TestProcStopKillsAfterLimit(t *testing.T) {
	l := NewT(t)
	var out Buffer
	p, err := StartProc(l.Router, "stubborn", &out, nil, "sh", "-c", "trap '' TERM; echo ready; exec sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "ready"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the shell did not start")
		}
	}
	start := time.Now()
	wasRunning, err := p.Stop(300 * time.Millisecond)
	if !wasRunning || err == nil || !strings.Contains(err.Error(), "was killed") {
		t.Errorf("Stop: was running %v, %v; want it killed", wasRunning, err)
	}
	if p.Running() {
		t.Error("still running after Stop")
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 10*time.Second {
		t.Errorf("killed after %v; want just after the 300ms limit", d)
	}
}
