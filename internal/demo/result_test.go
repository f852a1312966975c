package demo

import (
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
	if got := r.Summary(); got != "RESULT: FastTrack blocked, ordinary traffic untouched" {
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
