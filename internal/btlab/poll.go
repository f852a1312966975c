package btlab

import (
	"context"
	"fmt"
	"time"
)

// pollEvery is how often waits look again.
const pollEvery = 100 * time.Millisecond

// poll calls check every pollEvery until it reports done or an error, ctx
// ends or limit passes.
func poll(ctx context.Context, limit time.Duration, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		done, err := check()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %v: %w", limit, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
