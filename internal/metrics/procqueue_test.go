package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseQueueStatsFixture(t *testing.T) {
	got, err := ReadQueueStats(filepath.Join("testdata", "nfnetlink_queue"))
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueStats{
		{Queue: 0, PeerPortID: 4294963171, Waiting: 3, CopyMode: 2, CopyRange: 65535, Dropped: 0, UserDropped: 0, IDSequence: 421},
		{Queue: 1, PeerPortID: 13245, Waiting: 0, CopyMode: 2, CopyRange: 1500, Dropped: 17, UserDropped: 2, IDSequence: 4294967295},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseQueueStats(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n       int
		wantErr string
	}{
		{"", 0, ""},
		{"\n\n", 0, ""},
		{"    7      1     0 2 65535     0     0        0  1", 1, ""}, // no final newline
		{"7 1 0 2 65535 0 0 0 1 extra columns 42\n", 1, ""},
		{"7 1 0 2 65535 0 0 0\n", 1, ""},
		{"7 1 0 2 65535 0 0\n", 0, "line 1: 7 columns"},
		{"\n70000 1 0 2 65535 0 0 0 1\n", 0, "line 2, column 1"},
		{"7 1 0 256 65535 0 0 0 1\n", 0, "line 1, column 4"},
		{"7 1 0 2 65535 -1 0 0 1\n", 0, "line 1, column 6"},
		{"7 1 0 2 65535 0 0 4294967296 1\n", 0, "line 1, column 8"},
		{"queue_number peer_portid queue_total\n", 0, "line 1: 3 columns"},
	} {
		got, err := ParseQueueStats(strings.NewReader(tc.in))
		switch {
		case tc.wantErr == "" && (err != nil || len(got) != tc.n):
			t.Errorf("ParseQueueStats(%q) = %v, %v", tc.in, got, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseQueueStats(%q) error %v, want %q", tc.in, err, tc.wantErr)
		}
	}
	if _, err := ReadQueueStats(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// kernelLine formats s the way net/netfilter/nfnetlink_queue.c seq_show does.
func kernelLine(s QueueStats) string {
	return fmt.Sprintf("%5d %6d %5d %1d %5d %5d %5d %8d %2d\n",
		s.Queue, s.PeerPortID, s.Waiting, s.CopyMode, s.CopyRange, s.Dropped, s.UserDropped, s.IDSequence, 1)
}

func FuzzParseQueueStats(f *testing.F) {
	f.Add([]byte("    0 4294963171     3 2 65535     0     0      421  1\n"))
	f.Add([]byte("1 2 3 4 5 6 7 8\n\n9 10 11 12 13 14 15 16 17 18\n"))
	f.Add([]byte("+1 0x2 3 4 5 6 7 8 9"))
	f.Fuzz(func(t *testing.T, data []byte) {
		stats, err := ParseQueueStats(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		var b strings.Builder
		for _, s := range stats {
			b.WriteString(kernelLine(s))
		}
		again, err := ParseQueueStats(strings.NewReader(b.String()))
		if err != nil || !slices.Equal(again, stats) {
			t.Fatalf("kernel-format round trip: %v, %+v vs %+v", err, again, stats)
		}
	})
}
