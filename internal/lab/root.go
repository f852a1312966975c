package lab

import (
	"os"
	"testing"
)

// RequireRoot skips t when the process cannot create network namespaces.
// Integration tests call it first; unit tests never need it.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration test: needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces; run `sudo go test` or `make test` as root")
	}
}
