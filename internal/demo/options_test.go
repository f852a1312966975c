package demo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakePrograms puts executables named names into a new directory and makes
// it the whole PATH.
func fakePrograms(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	return dir
}

func TestOptionsCheck(t *testing.T) {
	dir := fakePrograms(t, "ip", "nft", "ftwall")
	ftwall := filepath.Join(dir, "ftwall")
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := func() int { return 0 }
	user := func() int { return 1000 }

	o, err := Options{FtwallPath: ftwall, geteuid: root}.check()
	if err != nil {
		t.Fatalf("valid options: %v", err)
	}
	if o.Out == nil || o.LabPrefix != DefaultLabPrefix || o.learnWait != learnTimeout || !filepath.IsAbs(o.FtwallPath) {
		t.Errorf("defaults not filled: %+v", o)
	}

	if _, err := (Options{FtwallPath: ftwall, geteuid: user}).check(); !errors.Is(err, ErrNotRoot) || !strings.Contains(err.Error(), "sudo") {
		t.Errorf("not root: %v; want ErrNotRoot telling to use sudo", err)
	}
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"no binary", Options{geteuid: root}, "no ftwall binary"},
		{"missing binary", Options{FtwallPath: filepath.Join(dir, "nope"), geteuid: root}, "make build"},
		{"not executable", Options{FtwallPath: notExec, geteuid: root}, "not an executable"},
		{"directory", Options{FtwallPath: dir, geteuid: root}, "not an executable"},
		{"bad prefix", Options{FtwallPath: ftwall, LabPrefix: "Demo-1", geteuid: root}, "lab prefix"},
	} {
		if _, err := c.o.check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error about %q", c.name, err, c.want)
		}
	}

	fakePrograms(t, "ip") // no nft
	if _, err := (Options{FtwallPath: ftwall, geteuid: root}).check(); err == nil || !strings.Contains(err.Error(), "nft") {
		t.Errorf("without nft: %v; want an error naming nft", err)
	}
}
