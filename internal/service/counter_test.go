package service

import (
	"sync"
	"testing"
)

func TestCounterSumsShards(t *testing.T) {
	var c counter
	var wg sync.WaitGroup
	for r := 0; r < 2*counterShards+3; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				c.addAt(r, 1)
			}
		}(r)
	}
	c.Add(5)
	wg.Wait()
	if got, want := c.Load(), uint64((2*counterShards+3)*1000+5); got != want {
		t.Errorf("Load() = %d, want %d", got, want)
	}
}

// BenchmarkCounterShared and BenchmarkCounterSharded: two goroutines
// adding to one counter, on one cache line and on their own.
func BenchmarkCounterShared(b *testing.B) {
	var c paddedUint64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Add(1)
		}
	})
}

func BenchmarkCounterSharded(b *testing.B) {
	var c counter
	var next paddedUint64
	b.RunParallel(func(pb *testing.PB) {
		r := int(next.Add(1))
		for pb.Next() {
			c.addAt(r, 1)
		}
	})
}
