package service

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/internal/share"
	"github.com/ftwall/ftwall/internal/share/sharetest"
	"github.com/ftwall/ftwall/nft"
)

func shareConfig(srv *sharetest.Server, mode share.Mode, name string) Config {
	cfg := baseConfig()
	cfg.Ruleset.TimeLock = time.Minute
	cfg.Share = share.Config{URLs: []string{srv.URL}, Mode: mode, Name: name}
	return cfg
}

func waitShareLoaded(t *testing.T, h *harness) {
	t.Helper()
	eventually(t, "shared entries loaded", func() bool { return h.svc.shareCtr.loaded.Load() })
}

func putEntry(t *testing.T, srv *sharetest.Server, bucket, addr, value string) {
	t.Helper()
	if _, err := srv.KV(t, bucket).Put(context.Background(), share.Key(netip.MustParseAddr(addr)), []byte(value)); err != nil {
		t.Fatal(err)
	}
}

// TestSharedEntriesAreValidatedLikeEvidence: entries published by hand (as
// with the nats CLI, or by a compromised gateway) reach the kernel only
// when local evidence could have put them there.
func TestSharedEntriesAreValidatedLikeEvidence(t *testing.T) {
	srv := sharetest.Start(t)
	cfg := shareConfig(srv, share.ModeAll, "gw-a")
	cdir := t.TempDir()
	cfg.ClientDir = cdir
	h := start(t, cfg)
	waitShareLoaded(t, h)

	good := `{"v":1,"timeout":3600,"protocol":"fasttrack","reason":"ping","gateway":"gw-x"}`
	putEntry(t, srv, share.DefaultPeersBucket, "198.51.100.50", good)
	putEntry(t, srv, share.DefaultPeersBucket, "2001:db8:100::50", good)
	for _, bad := range []string{"198.51.100.200", "10.9.9.9", "192.168.7.1", "10.0.1.5", "127.0.0.1", "224.0.0.1", "fd00:9::1"} {
		putEntry(t, srv, share.DefaultPeersBucket, bad, good) // allowlisted, private, LAN, loopback, multicast, ULA
	}
	putEntry(t, srv, share.DefaultLocksBucket, "10.0.1.9", `{"v":1,"timeout":60,"protocol":"fasttrack","reason":"ping","gateway":"gw-x","probe":"proto=fasttrack port=1214"}`)
	putEntry(t, srv, share.DefaultLocksBucket, "198.51.100.60", `{"v":1,"timeout":60,"gateway":"gw-x"}`) // not a LAN client
	putEntry(t, srv, share.DefaultPeersBucket, "198.51.100.51", `{"v":1,"timeout":0,"gateway":"gw-x"}`)  // no timeout: the gateway's own bound

	eventually(t, "valid entries applied", func() bool {
		return has(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.50")) && has(t, h.fw, nft.SetPeers6, netip.MustParseAddr("2001:db8:100::50")) &&
			has(t, h.fw, nft.SetLocked4, netip.MustParseAddr("10.0.1.9")) && has(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.51"))
	})
	eventually(t, "every entry judged", func() bool { return h.svc.shareInfo().Entries >= 12 })
	e, _ := elementOf(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.50"))
	if e.Timeout <= 3590*time.Second || e.Timeout > time.Hour {
		t.Errorf("applied peer timeout %v, want the entry's hour less its age", e.Timeout)
	}
	e, _ = elementOf(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.51"))
	if e.Timeout <= 23*time.Hour || e.Timeout > 24*time.Hour {
		t.Errorf("peer without timeout got %v, want the gateway's --peer-timeout (24h)", e.Timeout)
	}
	l, _ := elementOf(t, h.fw, nft.SetLocked4, netip.MustParseAddr("10.0.1.9"))
	if l.Comment != "proto=fasttrack port=1214" || l.Timeout > time.Minute {
		t.Errorf("applied lock %+v", l)
	}
	for _, bad := range []string{"198.51.100.200", "10.9.9.9", "192.168.7.1", "10.0.1.5", "127.0.0.1", "224.0.0.1"} {
		if has(t, h.fw, nft.SetPeers4, netip.MustParseAddr(bad)) {
			t.Errorf("rejected entry %s is in peers4", bad)
		}
	}
	if has(t, h.fw, nft.SetLocked4, netip.MustParseAddr("198.51.100.60")) {
		t.Error("a lock of a non-LAN address was applied")
	}
	info := h.svc.shareInfo()
	if info.Rejected[rejectNotCandidate] != 7 || info.Rejected[rejectNotLAN] != 1 || info.AppliedPeers != 3 || info.AppliedLocks != 1 {
		t.Errorf("share info = %+v", info)
	}
	// The tracker holds the shared lock: its client file is written from it.
	eventually(t, "client file of the shared lock", func() bool {
		_, err := os.Stat(filepath.Join(cdir, "10.0.1.9"))
		return err == nil
	})

	// A deletion by another gateway removes it here.
	if err := srv.KV(t, share.DefaultPeersBucket).Delete(context.Background(), share.Key(netip.MustParseAddr("198.51.100.50"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deleted peer gone", func() bool { return !has(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.50")) })
}

type wireEntry struct {
	Timeout  int64  `json:"timeout"`
	Protocol string `json:"protocol"`
	Gateway  string `json:"gateway"`
	Probe    string `json:"probe"`
}

// TestLearnedIsPublishedAndUnblockDeletes: what the packet path learns is
// published with its protocol, timeout and gateway; an operator's unblock
// and unlock publish deletions.
func TestLearnedIsPublishedAndUnblockDeletes(t *testing.T) {
	srv := sharetest.Start(t)
	cfg := shareConfig(srv, share.ModeAll, "gw-a")
	cfg.RunDir = t.TempDir()
	h := start(t, cfg)
	waitShareLoaded(t, h)
	if v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA"))); v != queue.Drop {
		t.Fatalf("verdict %v", v)
	}
	peers, locks := srv.KV(t, share.DefaultPeersBucket), srv.KV(t, share.DefaultLocksBucket)
	var got wireEntry
	eventually(t, "peer published", func() bool {
		e, err := peers.Get(context.Background(), share.Key(peer.Addr()))
		return err == nil && json.Unmarshal(e.Value(), &got) == nil
	})
	if got.Gateway != "gw-a" || got.Protocol != "fasttrack" || got.Timeout != int64((24*time.Hour)/time.Second) {
		t.Errorf("published peer %+v", got)
	}
	eventually(t, "lock published", func() bool {
		e, err := locks.Get(context.Background(), share.Key(client.Addr()))
		return err == nil && json.Unmarshal(e.Value(), &got) == nil
	})
	if got.Timeout != 60 || got.Probe == "" {
		t.Errorf("published lock %+v", got)
	}

	call(t, cfg.RunDir, ctl.Request{Op: ctl.OpUnblock, Addrs: []string{peer.Addr().String()}})
	call(t, cfg.RunDir, ctl.Request{Op: ctl.OpUnlock, Addrs: []string{client.Addr().String()}})
	eventually(t, "deletions published", func() bool {
		_, e1 := peers.Get(context.Background(), share.Key(peer.Addr()))
		_, e2 := locks.Get(context.Background(), share.Key(client.Addr()))
		return e1 != nil && e2 != nil
	})
	st := call(t, cfg.RunDir, ctl.Request{Op: ctl.OpInfo}).Info.Share
	if st == nil || !st.Connected || st.Published < 4 || st.Mode != "all" || st.Gateway != "gw-a" {
		t.Errorf("status share = %+v", st)
	}
}

// TestShareUnreachableKeepsBlocking: with no server, the gateway blocks on
// its own and publishes what it learned once the server is there.
func TestShareUnreachableKeepsBlocking(t *testing.T) {
	srv := sharetest.Start(t)
	srv.Stop()
	h := start(t, shareConfig(srv, share.ModePeers, "gw-a"))
	eventually(t, "inspecting", func() bool { return h.svc.shareInfo() != nil })
	if v := h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA"))); v != queue.Drop {
		t.Fatalf("verdict %v with the share down, want drop", v)
	}
	eventually(t, "peer learned alone", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	if info := h.svc.shareInfo(); info.Connected || info.Backlog != 1 {
		t.Errorf("share down: %+v, want not connected and 1 waiting", info)
	}
	srv.Restart()
	eventually(t, "backlog published after the server came", func() bool {
		i := h.svc.shareInfo()
		return i.Connected && i.Backlog == 0 && i.Published == 1
	})
}

// TestReloadRefusesShareChanges: sharing is set at start; a reload that
// changes it keeps the running configuration and says to restart.
func TestReloadRefusesShareChanges(t *testing.T) {
	srv := sharetest.Start(t)
	cfg := shareConfig(srv, share.ModePeers, "gw-a")
	cfg.Reload = func() (Config, error) {
		next := shareConfig(srv, share.ModeAll, "gw-a")
		return next, nil
	}
	h := start(t, cfg)
	waitShareLoaded(t, h)
	h.hup <- os.Interrupt
	eventually(t, "reload refused", func() bool {
		return strings.Contains(h.logs.String(), "the --share-* options changed: restart ftwall")
	})
	if m := h.svc.shareInfo().Mode; m != "peers" {
		t.Errorf("mode after the refused reload = %s", m)
	}
}

// TestSharedEntryExpiredOnArrival: an entry whose lifetime is over when it
// arrives (its timeout counted from the server's store time) is not
// written, and is counted.
func TestSharedEntryExpiredOnArrival(t *testing.T) {
	srv := sharetest.Start(t)
	h := start(t, shareConfig(srv, share.ModePeers, "gw-a"))
	waitShareLoaded(t, h)
	putEntry(t, srv, share.DefaultPeersBucket, "198.51.100.52", `{"v":1,"timeout":1,"gateway":"gw-x"}`)
	putEntry(t, srv, share.DefaultPeersBucket, "198.51.100.53", `{"v":1,"timeout":30,"gateway":"gw-x"}`)
	eventually(t, "the live entry applied", func() bool { return has(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.53")) })
	if has(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.52")) {
		t.Error("an entry whose second had passed was written")
	}
	if e, _ := elementOf(t, h.fw, nft.SetPeers4, netip.MustParseAddr("198.51.100.53")); e.Timeout > 30*time.Second || e.Timeout < 28*time.Second {
		t.Errorf("30 s entry written with timeout %v", e.Timeout)
	}
	if n := h.svc.shareInfo().Expired; n != 1 {
		t.Errorf("expired = %d, want 1", n)
	}
}

func TestClipTextKeepsCharactersWhole(t *testing.T) {
	s := strings.Repeat("a", 63) + "é" // é is two bytes: 63 and 64
	if got := clipText(s, 64); got != strings.Repeat("a", 63) {
		t.Errorf("clipText cut a character: %q", got)
	}
	if got := clipText("short", 64); got != "short" {
		t.Errorf("clipText(short) = %q", got)
	}
	if _, err := share.Encode(share.Entry{Addr: netip.MustParseAddr("198.51.100.9"), Reason: clipText(s, share.MaxReason)}); err != nil {
		t.Errorf("a clipped reason does not encode: %v", err)
	}
}
