package cli

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestHasCapability compares the capability check with the effective user:
// root has CAP_NET_ADMIN (unless the test runs in a container that dropped
// it, which the kernel's status file shows).
func TestHasCapability(t *testing.T) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var eff uint64
	for _, line := range strings.Split(string(data), "\n") {
		if n, _ := fmt.Sscanf(line, "CapEff:\t%x", &eff); n == 1 {
			break
		}
	}
	for _, c := range []capability{capNetAdmin, capNetRaw} {
		got, err := hasCapability(c)
		if err != nil {
			t.Fatal(err)
		}
		if want := eff&(1<<uint(c)) != 0; got != want {
			t.Errorf("hasCapability(%s) = %v, /proc/self/status says %v", c, got, want)
		}
	}
	if _, err := hasCapability(capability(70)); err == nil {
		t.Error("capability 70 accepted")
	}
}
