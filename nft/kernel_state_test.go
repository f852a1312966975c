package nft

import (
	"testing"
	"time"
)

func TestSameTimeout(t *testing.T) {
	for _, tc := range []struct {
		want, got time.Duration
		same      bool
	}{
		{0, 0, true},
		{time.Second, time.Second, true},
		{1001 * time.Millisecond, 1004 * time.Millisecond, true},
		{0, time.Millisecond, false},
		{time.Second, 2 * time.Second, false},
		{time.Second, time.Second + 10*time.Millisecond, false},
	} {
		if got := sameTimeout(tc.want, tc.got); got != tc.same {
			t.Errorf("sameTimeout(%v, %v) = %v", tc.want, tc.got, got)
		}
	}
}
