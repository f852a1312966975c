// Command ftsim simulates FastTrack (Kazaa) traffic for ftwall's tests and
// demo: `ftsim client …` joins the network like a Kazaa client, `ftsim node
// …` plays a supernode, `ftsim gift …` behaves like the genuine giFT client
// (giFT 0.11.9 + giFT-FastTrack 0.8.9). Each prints a JSON report of what happened on
// stdout; progress goes to stderr. Run them inside network namespaces with
// `ip netns exec <ns> ftsim …`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
