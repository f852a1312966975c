package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	m.PeerLearned()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, m.Handler(), nil) }()
	base := "http://" + ln.Addr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "ftwall_peers_learned_total 1") {
		t.Errorf("/metrics: %d %.200s", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "/metrics") {
		t.Errorf("/: %d %q", code, body)
	}
	if code, _ := get("/other"); code != 404 {
		t.Errorf("/other: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("listener still open after shutdown")
	}
}

func TestServeBadAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for addr, want := range map[string]string{
		"9714":               `"9714" is not HOST:PORT`,
		"localhost":          `"localhost" is not HOST:PORT`,
		"127.0.0.1:99999":    "cannot listen on 127.0.0.1:99999",
		busy.Addr().String(): "cannot listen on " + busy.Addr().String(),
		"[2001:db8::1]:9714": "cannot listen on [2001:db8::1]:9714", // not our address
	} {
		err := Serve(context.Background(), addr, New().Handler(), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Serve(%q) = %v, want %q", addr, err, want)
		}
	}
}
