package nft

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestKernelError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		is   error
		text string
	}{
		{unix.EPERM, unix.EPERM, "CAP_NET_ADMIN"},
		{fmt.Errorf("wrapped: %w", unix.EACCES), unix.EACCES, "run ftwall as root"},
		{unix.EPROTONOSUPPORT, ErrNoNftables, "nf_tables"},
		{unix.EMSGSIZE, unix.EMSGSIZE, "fewer elements"},
		{unix.ENOBUFS, unix.ENOBUFS, "may have been applied"},
		{unix.EBUSY, unix.EBUSY, "device or resource busy"},
	} {
		err := kernelError("do it", tc.err)
		if !errors.Is(err, tc.is) || !strings.HasPrefix(err.Error(), "do it: ") || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("kernelError(%v) = %v", tc.err, err)
		}
	}
	if kernelError("x", nil) != nil {
		t.Error("kernelError(nil) != nil")
	}
	for _, e := range []error{unix.EPROTONOSUPPORT, unix.EAFNOSUPPORT, unix.EOPNOTSUPP, unix.EINVAL} {
		if !errors.Is(noNftables(e), ErrNoNftables) {
			t.Errorf("noNftables(%v) is not ErrNoNftables", e)
		}
	}
	if errors.Is(noNftables(unix.ENOENT), ErrNoNftables) {
		t.Error("ENOENT means no nftables")
	}
	if !isNotFound(fmt.Errorf("x: %w", unix.ENOENT)) || isNotFound(unix.EEXIST) {
		t.Error("isNotFound")
	}
	be := setupError(BackendNative, BackendNative, unix.ENOENT)
	if !strings.Contains(be.Error(), "nft_queue") || !strings.Contains(be.Error(), "--backend") || !strings.Contains(be.Error(), "nothing was changed") {
		t.Errorf("setupError native: %v", be)
	}
	if ce := setupError(BackendCompat, BackendAuto, unix.ENOENT); !strings.Contains(ce.Error(), "NFQUEUE") {
		t.Errorf("setupError compat: %v", ce)
	}
	if !unsupported(unix.ENOENT) || unsupported(unix.EPERM) {
		t.Error("unsupported")
	}
}
