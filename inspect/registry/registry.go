// Package registry lists ftwall's protocol detectors. A new protocol is one
// package under inspect/ implementing inspect.Detector, plus one line here.
package registry

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/bittorrent"
	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// Builtin returns every detector ftwall has, in the order they are tried.
func Builtin() inspect.Detectors {
	return inspect.Detectors{fasttrack.New(), bittorrent.New()}
}

// Names returns the protocols of Builtin.
func Names() []string {
	var out []string
	for _, d := range Builtin() {
		out = append(out, string(d.Protocol()))
	}
	return out
}

// Select returns the built-in detectors named (all of them for an empty
// list), in Builtin's order. Unknown and repeated names are errors.
func Select(names []string) (inspect.Detectors, error) {
	return SelectFrom(Builtin(), names)
}

// SelectFrom is Select over another set of detectors (tests register their
// own).
func SelectFrom(all inspect.Detectors, names []string) (inspect.Detectors, error) {
	if len(names) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if all.Index(inspect.Protocol(n)) < 0 {
			var known []string
			for _, d := range all {
				known = append(known, string(d.Protocol()))
			}
			return nil, fmt.Errorf("unknown protocol %q (known: %s)", n, strings.Join(known, ", "))
		}
		if want[n] {
			return nil, fmt.Errorf("protocol %q given twice", n)
		}
		want[n] = true
	}
	var out inspect.Detectors
	for _, d := range all {
		if want[string(d.Protocol())] {
			out = append(out, d)
		}
	}
	return slices.Clip(out), nil
}
