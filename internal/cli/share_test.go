package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/share"
)

func shareFiles(t *testing.T) (dir, creds, ca string) {
	t.Helper()
	dir = t.TempDir()
	creds, ca = filepath.Join(dir, "gw.creds"), filepath.Join(dir, "ca.pem")
	for _, f := range []string{creds, ca} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, creds, ca
}

func TestRunMapsShareOptions(t *testing.T) {
	_, creds, ca := shareFiles(t)
	want := share.Config{
		URLs: []string{"nats://192.0.2.10:4222", "tls://192.0.2.11:4222"}, Mode: share.ModeAll, Name: "gw-a",
		CredsFile: creds, TLSCA: ca, PeersBucket: "p", LocksBucket: "l", Replicas: 3, Backlog: 500,
	}
	t.Run("flags", func(t *testing.T) {
		h := newHarness(t)
		h.mustRun("run", "--lan", "lan0", "--share-url", "nats://192.0.2.10:4222,tls://192.0.2.11:4222", "--share-mode", "all",
			"--share-name", "gw-a", "--share-creds", creds, "--share-tls-ca", ca, "--share-peers-bucket", "p", "--share-locks-bucket", "l",
			"--share-replicas", "3", "--share-backlog", "500")
		if got := h.lastRun().Share; !reflect.DeepEqual(got, want) {
			t.Errorf("share config\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("file", func(t *testing.T) {
		h := newHarness(t)
		cfg := filepath.Join(t.TempDir(), "ftwall.yaml")
		text := "lan: lan0\nshare:\n  urls: [nats://192.0.2.10:4222, tls://192.0.2.11:4222]\n  mode: all\n  name: gw-a\n  creds: " + creds +
			"\n  tls: {ca: " + ca + "}\n  buckets: {peers: p, locks: l}\n  replicas: 3\n  backlog: 500\n"
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		h.mustRun("--config", cfg, "run")
		if got := h.lastRun().Share; !reflect.DeepEqual(got, want) {
			t.Errorf("share config\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("env", func(t *testing.T) {
		h := newHarness(t)
		t.Setenv("FTWALL_SHARE_URL", "nats://192.0.2.10:4222")
		t.Setenv("FTWALL_SHARE_USER", "gw-a")
		t.Setenv("FTWALL_SHARE_PASSWORD", "s3cret")
		h.mustRun("run", "--lan", "lan0")
		got := h.lastRun().Share
		if got.User != "gw-a" || got.Password != "s3cret" || len(got.URLs) != 1 || got.Mode != share.ModePeers {
			t.Errorf("share config from the environment = %+v", got)
		}
	})
	t.Run("off", func(t *testing.T) {
		h := newHarness(t)
		h.mustRun("run", "--lan", "lan0", "--share-mode", "all")
		if got := h.lastRun().Share; got.Enabled() || !reflect.DeepEqual(got, share.Config{}) {
			t.Errorf("no URL: sharing must be off, got %+v", got)
		}
	})
}

func TestShareOptionErrors(t *testing.T) {
	_, creds, _ := shareFiles(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"mode", []string{"--share-url", "nats://192.0.2.10:4222", "--share-mode", "everything"}, `--share-mode: "everything" is not a share mode`},
		{"scheme", []string{"--share-url", "http://192.0.2.10:4222"}, `--share-url: "http://192.0.2.10:4222": scheme "http"`},
		{"credentials in URL", []string{"--share-url", "nats://u:p@192.0.2.10:4222"}, "holds credentials"},
		{"user without password", []string{"--share-url", "nats://192.0.2.10:4222", "--share-user", "gw"}, "--share-user and --share-password go together"},
		{"two auth", []string{"--share-url", "nats://192.0.2.10:4222", "--share-token", "t", "--share-creds", creds}, "give at most one way to authenticate"},
		{"missing creds", []string{"--share-url", "nats://192.0.2.10:4222", "--share-creds", "/nonexistent/gw.creds"}, "--share-creds: cannot read /nonexistent/gw.creds"},
		{"cert without key", []string{"--share-url", "nats://192.0.2.10:4222", "--share-tls-cert", creds}, "--share-tls-cert and --share-tls-key go together"},
		{"bucket", []string{"--share-url", "nats://192.0.2.10:4222", "--share-peers-bucket", "a.b"}, `--share-peers-bucket: "a.b" is not a bucket name`},
		{"same buckets", []string{"--share-url", "nats://192.0.2.10:4222", "--share-peers-bucket", "x", "--share-locks-bucket", "x"}, "need buckets of their own"},
		{"replicas", []string{"--share-url", "nats://192.0.2.10:4222", "--share-replicas", "2"}, "--share-replicas: 2: want 1, 3 or 5"},
		{"backlog", []string{"--share-url", "nats://192.0.2.10:4222", "--share-backlog", "0"}, "--share-backlog: 0: want at least 1"},
		{"name", []string{"--share-url", "nats://192.0.2.10:4222", "--share-name", "gw a"}, `--share-name: "gw a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			code := h.run(append([]string{"run", "--lan", "lan0"}, tc.args...)...)
			if code == 0 || !strings.Contains(h.stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want an error containing %q", code, h.stderr.String(), tc.want)
			}
			if len(h.ran) != 0 {
				t.Error("the service was started despite the error")
			}
		})
	}
}

func TestShareConfigFileErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"share: nats://x\n", `line 1: "share" must hold the share options`},
		{"share:\n  urlz: [nats://192.0.2.1:4222]\n", `line 2: unknown option "share-urlz" (did you mean "share-url"?)`},
		{"share:\n  tls: /etc/ca.pem\n", `line 2: share: "tls" must be a mapping`},
		{"share-mode: all\nshare:\n  mode: peers\n", `line 3: option "share-mode" appears twice (first on line 1)`},
	} {
		cf, err := parseConfig("f.yaml", []byte(tc.text))
		if err == nil {
			err = cf.check(allTopNames(), inspectNames())
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestStatusShareLines(t *testing.T) {
	var b strings.Builder
	writeService(&b, serviceReport{Running: true, PID: 42, Version: "0.1.0", Started: "2026-12-04T00:00:00Z", Share: &ctl.ShareInfo{
		Stats: share.Stats{Mode: "peers", Gateway: "gw-a", Connected: false, LastError: "x509: certificate signed by unknown authority",
			Published: 10, Backlog: 3, Dropped: 1, Entries: 20, Reconnects: 2, ConsumersLost: 1},
		AppliedPeers: 15, Rejected: map[string]uint64{"not-candidate": 4, "pardoned": 1}, LagMillis: 12.5,
	}})
	want := "service: ftwall run 0.1.0, pid 42, since 2026-12-04T00:00:00Z\n" +
		"share: mode peers as gw-a, NOT CONNECTED (blocking goes on with what this gateway knows; what it learns waits in the backlog); last error: x509: certificate signed by unknown authority, loading the shared entries\n" +
		"share: published 10 (backlog 3, dropped 1, failed attempts 0); received 20: applied 15 peers and 0 locks, deleted 0, expired 0, undecodable 0, rejected not-candidate 4, pardoned 1; lag 12.5 ms; reconnects 2, consumers lost 1\n"
	if b.String() != want {
		t.Errorf("status lines\n got %q\nwant %q", b.String(), want)
	}
}
