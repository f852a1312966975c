// Command debchangelog turns CHANGELOG.md (Keep a Changelog) on standard
// input into a Debian changelog on standard output, for `make deb`. With
// -version it checks that the newest release is that version.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ftwall/ftwall/internal/tools/debchangelog/changelog"
)

func main() {
	version := flag.String("version", "", "fail unless the newest release in the changelog is `VERSION`")
	maintainer := flag.String("maintainer", changelog.DefaultMaintainer, "the trailer's `NAME <EMAIL>`")
	flag.Parse()
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "debchangelog: read standard input:", err)
		os.Exit(1)
	}
	rels, err := changelog.Parse(string(in))
	if err != nil {
		fmt.Fprintln(os.Stderr, "debchangelog:", err)
		os.Exit(1)
	}
	if *version != "" && rels[0].Version != *version {
		fmt.Fprintf(os.Stderr, "debchangelog: the newest release in the changelog is %s, but VERSION says %s: add a section \"## [%s] - DATE\"\n", rels[0].Version, *version, *version)
		os.Exit(1)
	}
	if _, err := io.WriteString(os.Stdout, changelog.Debian(rels, "ftwall", *maintainer)); err != nil {
		fmt.Fprintln(os.Stderr, "debchangelog:", err)
		os.Exit(1)
	}
}
