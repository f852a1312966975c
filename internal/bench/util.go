package bench

import (
	"context"
	"runtime"
	"time"
)

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// numCPU is the number of CPUs the senders are spread over.
func numCPU() int { return max(runtime.NumCPU(), 1) }
