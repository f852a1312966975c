package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestVersionAndModule(t *testing.T) {
	v, gov := Module()
	if v == "" || gov != runtime.Version() {
		t.Errorf("Module() = %q, %q; want a version and %s", v, gov, runtime.Version())
	}
	if full := Version(); !strings.HasSuffix(full, " "+runtime.Version()) || !strings.HasPrefix(full, strings.SplitN(v, "+", 2)[0]) {
		t.Errorf("Version() = %q, Module() = %q", full, v)
	}
}
