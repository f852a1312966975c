// Command ftwdemo shows ftwall at work in under a minute: it builds a
// throw-away lab of network namespaces (a Kazaa PC and a neighbour behind a
// router, and an "internet"), runs `ftwall run` on the router, plays a
// simulated Kazaa client and ordinary traffic, tells what got through and
// what ftwall learned, and removes everything. It needs root and touches
// nothing outside its own namespaces. Exit status 0 means FastTrack was
// blocked and ordinary traffic was not.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A closed stdout (`ftwdemo | head`) must not kill the demo before it
	// removed its lab: writes fail instead, and the narrative ignores that.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr, os.Geteuid())
	stop()
	os.Exit(code)
}
