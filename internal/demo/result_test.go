package demo

import (
	"slices"
	"strings"
	"testing"
)

func fullResult() Result {
	var r Result
	for _, n := range CheckNames() {
		r.add(n, true, "fine")
	}
	return r
}

func TestResultPassedOnlyWhenEveryCheckPassed(t *testing.T) {
	r := fullResult()
	if !r.Passed() || len(r.Failed()) != 0 || len(r.Missing()) != 0 {
		t.Fatalf("all checks passed: Passed %v, Failed %v, Missing %v", r.Passed(), r.Failed(), r.Missing())
	}
	if got := r.Summary(); got != "RESULT: FastTrack and BitTorrent blocked, ordinary traffic untouched" {
		t.Errorf("summary %q", got)
	}

	r.Checks[4].OK, r.Checks[4].Detail = false, "3 connects succeeded"
	if r.Passed() {
		t.Error("Passed with a failed check")
	}
	if f := r.Failed(); len(f) != 1 || f[0].Name != CheckTCPBlocked {
		t.Errorf("Failed = %v; want %s", f, CheckTCPBlocked)
	}
	if s := r.Summary(); !strings.HasPrefix(s, "RESULT: FAILED\n") || !strings.Contains(s, "  "+CheckTCPBlocked+": 3 connects succeeded") {
		t.Errorf("summary %q", s)
	}

	var partial Result
	partial.add(CheckPingsStopped, true, "")
	if partial.Passed() {
		t.Error("an interrupted run passed")
	}
	if m := partial.Missing(); len(m) != len(CheckNames())-1 || m[0] != CheckSpoofedPongs {
		t.Errorf("Missing = %v", m)
	}
	if s := partial.Summary(); !strings.Contains(s, "not run: "+CheckSpoofedPongs) {
		t.Errorf("summary of an interrupted run %q", s)
	}
	if (Result{}).Passed() {
		t.Error("an empty result passed")
	}
}

func TestCheckNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range CheckNames() {
		if seen[n] || n == "" {
			t.Errorf("check name %q twice or empty", n)
		}
		seen[n] = true
	}
}

// A machine without the BitTorrent programs skips the BitTorrent checks:
// the run still passes, and the summary says so.
func TestResultBitTorrentSkipped(t *testing.T) {
	var r Result
	for _, n := range CheckNames() {
		if !slices.Contains(btChecks(), n) {
			r.add(n, true, "fine")
			continue
		}
		if n == btChecks()[0] {
			r.skip(btChecks(), "programs not installed: aria2c")
		}
	}
	if !r.Passed() || len(r.Failed()) != 0 || len(r.Missing()) != 0 {
		t.Fatalf("skipped BitTorrent scene: Passed %v, Failed %v, Missing %v", r.Passed(), r.Failed(), r.Missing())
	}
	if sk := r.Skipped(); len(sk) != len(btChecks()) || sk[0].Name != CheckBTClientLocked || sk[0].Detail != "programs not installed: aria2c" {
		t.Errorf("Skipped = %+v", sk)
	}
	if got := r.Summary(); !strings.HasPrefix(got, "RESULT: FastTrack blocked, ordinary traffic untouched; the BitTorrent scene was skipped") {
		t.Errorf("summary %q", got)
	}
	// Not made at all is not skipped: an interrupted run fails.
	var partial Result
	for _, n := range CheckNames() {
		if !slices.Contains(btChecks(), n) {
			partial.add(n, true, "fine")
		}
	}
	if partial.Passed() || len(partial.Missing()) != len(btChecks()) {
		t.Errorf("BitTorrent checks neither made nor skipped: Passed %v, Missing %v", partial.Passed(), partial.Missing())
	}
}

func TestBTChecksInCheckNames(t *testing.T) {
	names := CheckNames()
	i := slices.Index(names, btChecks()[0])
	if i < 0 || !slices.Equal(names[i:i+len(btChecks())], btChecks()) {
		t.Errorf("CheckNames %v does not hold btChecks %v in order", names, btChecks())
	}
}
