package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runArgs(t *testing.T, euid int, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"ftwdemo"}, args...), &out, &errb, euid)
	return code, out.String(), errb.String()
}

func TestHelp(t *testing.T) {
	code, out, _ := runArgs(t, 1000, "--help")
	if code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	for _, want := range []string{"--ftwall", "--verbose", "--keep", "Needs root"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}

func TestNotRoot(t *testing.T) {
	code, out, errs := runArgs(t, 1000, "--ftwall", "/nonexistent/ftwall")
	if code != exitFailed {
		t.Errorf("exit %d; want %d", code, exitFailed)
	}
	if !strings.Contains(errs, "needs root") || !strings.Contains(errs, "sudo") {
		t.Errorf("stderr %q; want a clear message about root and sudo", errs)
	}
	if out != "" {
		t.Errorf("stdout %q; want nothing", out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"extra-argument"}} {
		code, _, errs := runArgs(t, 0, args...)
		if code != exitUsage || !strings.Contains(errs, "--help") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d pointing to --help", args, code, errs, exitUsage)
		}
	}
}

func TestMissingFtwallBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	// As root with an absent binary the demo refuses before building anything.
	code, _, errs := runArgs(t, 0, "--ftwall", filepath.Join(t.TempDir(), "ftwall"))
	if code != exitFailed || !strings.Contains(errs, "make build") {
		t.Errorf("exit %d, stderr %q; want exit %d telling to build ftwall", code, errs, exitFailed)
	}
}

func TestFindFtwall(t *testing.T) {
	// The test binary's directory has no ftwall; PATH decides.
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if _, err := findFtwall(); err == nil || !strings.Contains(err.Error(), "--ftwall") {
		t.Errorf("no ftwall anywhere: %v; want an error naming --ftwall", err)
	}
	bin := filepath.Join(dir, "ftwall")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findFtwall(); err != nil || got != bin {
		t.Errorf("findFtwall = %q, %v; want %q from PATH", got, err, bin)
	}
}
