package service

import (
	"context"

	"github.com/ftwall/ftwall/internal/rtnl"
)

// ifaceWatcher delivers address and link events (rtnl.Watcher); Run calls
// changed for each batch until ctx is done.
type ifaceWatcher interface {
	Run(ctx context.Context, changed func()) error
}

// watchInterfaces subscribes to the kernel's address and link events and
// turns each into an interface refresh (coalesced: requestIfaceRefresh
// never queues more than one), so the firewall's own addresses, which are
// never peers, stay current between starts and reloads. The subscription is
// made before it returns; stop ends the goroutine and waits for it. When
// subscribing or reading fails it warns once and stops: the other
// refresh triggers (start, reload, a packet on an unknown interface) remain.
func (s *Service) watchInterfaces(ctx context.Context) (stop func()) {
	open := s.deps.WatchInterfaces
	if open == nil {
		open = func() (ifaceWatcher, error) { return rtnl.WatchAddresses(0) }
	}
	w, err := open()
	if err != nil {
		s.log.Warn("address and link changes are not followed: own addresses are re-read only at start, on reload and when a new interface appears", "err", err)
		return func() {}
	}
	stop = goStoppable(ctx, func(ctx context.Context) {
		if err := w.Run(ctx, s.requestIfaceRefresh); err != nil {
			s.log.Warn("address and link changes no longer followed: own addresses are re-read only on reload and when a new interface appears", "err", err)
		}
	})
	// Changes between New's first look and the subscription.
	s.requestIfaceRefresh()
	return stop
}

// goStoppable runs f in a goroutine with a context of its own; stop
// cancels it and waits until f has returned.
func goStoppable(ctx context.Context, f func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
