// Command ftwall blocks FastTrack (Kazaa) P2P clients on a Linux gateway
// with its own nftables table; see `ftwall --help` and ftwall(8).
package main

import (
	"context"
	"os"

	"github.com/ftwall/ftwall/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args, os.Stdout, os.Stderr))
}
