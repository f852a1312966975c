package ctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOwnerExclusive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if _, held, err := Holder(dir); held || err != nil {
		t.Fatalf("Holder of a missing directory = %v %v", held, err)
	}
	o, err := Acquire(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	pid, held, err := Holder(dir)
	if err != nil || !held || pid != os.Getpid() {
		t.Fatalf("Holder = %d %v %v, want our pid held", pid, held, err)
	}
	start := time.Now()
	_, err = Acquire(dir, 100*time.Millisecond)
	var he *HeldError
	if !errors.As(err, &he) || he.PID != os.Getpid() {
		t.Fatalf("second Acquire = %v, want a HeldError naming pid %d", err, os.Getpid())
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Error("second Acquire did not wait")
	}
	if !strings.Contains(err.Error(), "ftwall.pid") {
		t.Errorf("error %q does not name the lock file", err)
	}
	if err := o.Release(); err != nil {
		t.Fatal(err)
	}
	if _, held, _ := Holder(dir); held {
		t.Fatal("still held after Release")
	}
	o2, err := Acquire(dir, 0)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	o2.Release()
}

func TestServeAndCall(t *testing.T) {
	dir := t.TempDir()
	o, err := Acquire(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Release()
	// A stale socket file is replaced.
	os.WriteFile(SocketPath(dir), nil, 0o600)
	srv, err := Listen(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.uid.Store(uint32(os.Getuid()))
	fi, err := os.Stat(SocketPath(dir))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket %v mode %v", err, fi.Mode())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		srv.Serve(ctx, func(_ context.Context, req Request) Response {
			if req.Op == "fail" {
				return Response{Error: "no such thing"}
			}
			var rs []Result
			for _, a := range req.Addrs {
				rs = append(rs, Result{Addr: a, Done: req.Op + "ed"})
			}
			return Response{Results: rs}
		})
		close(done)
	}()
	resp, err := Call(ctx, dir, Request{Op: "block", Addrs: []string{"198.51.100.1", "2001:db8::1"}})
	if err != nil || len(resp.Results) != 2 || resp.Results[1].Done != "blocked" {
		t.Fatalf("Call = %+v %v", resp, err)
	}
	if _, err := Call(ctx, dir, Request{Op: "fail"}); err == nil || !strings.Contains(err.Error(), "no such thing") {
		t.Fatalf("failing request: %v", err)
	}
	many := make([]string, MaxAddrs+1)
	for i := range many {
		many[i] = "198.51.100.1"
	}
	if _, err := Call(ctx, dir, Request{Op: "block", Addrs: many}); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("oversized request: %v", err)
	}
	// Another uid than the one served is refused before its request is read.
	srv.uid.Store(uint32(os.Getuid()) + 1)
	if _, err := Call(ctx, dir, Request{Op: "block"}); err == nil || !strings.Contains(err.Error(), "root only") {
		t.Fatalf("request from another uid: %v", err)
	}
	cancel()
	<-done
	if _, err := os.Stat(SocketPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after the server stopped: %v", err)
	}
	if _, err := Call(context.Background(), dir, Request{Op: OpInfo}); !errors.Is(err, ErrNoService) {
		t.Errorf("Call without a server = %v, want ErrNoService", err)
	}
}

func TestDefaultDirNamespaces(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	named := filepath.Join(dir, "named")
	if err := os.Mkdir(named, 0o700); err != nil {
		t.Fatal(err)
	}
	ka, _ := nsInode(a)
	want := filepath.Join(DefaultRunDir, fmt.Sprintf("netns-%d", ka.ino))
	for _, c := range []struct {
		name, self, init, named, want string
	}{
		{"host", a, a, named, DefaultRunDir},
		{"other namespace", a, b, named, want},
		{"self unreadable", filepath.Join(dir, "missing"), b, named, DefaultRunDir},
		{"init unreadable, not named", a, filepath.Join(dir, "missing"), named, DefaultRunDir},
		{"init unreadable, no netns dir", a, filepath.Join(dir, "missing"), filepath.Join(dir, "none"), DefaultRunDir},
	} {
		if got := defaultDir(c.self, c.init, c.named); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
	// A namespace that ip-netns named: a hard link stands in for the bind
	// mount (same device and inode).
	if err := os.Link(a, filepath.Join(named, "lab")); err != nil {
		t.Fatal(err)
	}
	if got := defaultDir(a, filepath.Join(dir, "missing"), named); got != want {
		t.Errorf("init unreadable, named: got %s, want %s", got, want)
	}
	if !perNamespace(want) || perNamespace(DefaultRunDir) {
		t.Errorf("perNamespace(%s) should hold and perNamespace(%s) not", want, DefaultRunDir)
	}
}
