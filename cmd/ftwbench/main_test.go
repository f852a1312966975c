package main

import (
	"strings"
	"testing"
)

// Usage errors are reported with exit status 2 before anything is touched;
// none of these needs privileges.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"--runs", "0"}, 2, "--runs 0"},
		{[]string{"--bogus"}, 2, "bogus"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--only", "P1,P9"}, 2, "--only P9: unknown section"},
		{[]string{"accept-loop", "--queues", "0"}, 2, "--queues"},
		{[]string{"accept-loop", "--queue", "70000"}, 2, "--queue"},
		{[]string{"--ftwall", "/nonexistent/ftwall"}, 1, "make tools"},
	} {
		var out strings.Builder
		code := run(t.Context(), append([]string{"ftwbench"}, c.args...), &out)
		if code != c.code || !strings.Contains(out.String(), c.text) {
			t.Errorf("ftwbench %v: exit %d, output %q; want exit %d mentioning %q", c.args, code, out.String(), c.code, c.text)
		}
	}
}
