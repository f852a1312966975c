package nft

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestFakeCheck: the Fake's Check and Setup see what someone else removed,
// and Setup reports the sets it created empty.
func TestFakeCheck(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	if _, err := f.Check(ctx); !errors.Is(err, ErrNotApplied) {
		t.Fatalf("Check before Setup: %v, want ErrNotApplied", err)
	}
	cfg := validConfig()
	if _, err := f.Setup(ctx, cfg, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if d, err := f.Check(ctx); err != nil || !d.InSync || !d.Present {
		t.Fatalf("Check after Setup = %+v, %v", d, err)
	}

	f.RemoveRule(0)
	d, err := f.Check(ctx)
	if err != nil || d.InSync || !d.Present || len(d.MissingSets) != 0 {
		t.Fatalf("Check after a rule was removed = %+v, %v", d, err)
	}
	res, err := f.Setup(ctx, cfg, SetupOptions{})
	if err != nil || !res.Changed || res.Created || len(res.NewSets) != 0 {
		t.Fatalf("Setup after a rule was removed = %+v, %v", res, err)
	}

	f.RemoveSet(SetPeers6)
	if d, _ := f.Check(ctx); d.InSync || !slices.Equal(d.MissingSets, []string{SetPeers6}) {
		t.Fatalf("Check after a set was removed = %+v", d)
	}
	if err := f.AddElements(ctx, SetPeers6, []Element{{Addr: addr("2001:db8::1")}}); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("AddElements to a removed set: %v, want ENOENT", err)
	}
	if res, _ := f.Setup(ctx, cfg, SetupOptions{}); !slices.Equal(res.NewSets, []string{SetPeers6}) {
		t.Fatalf("Setup after a set was removed = %+v", res)
	}

	f.RemoveTable()
	if d, _ := f.Check(ctx); d.Present || d.InSync || len(d.MissingSets) != 6 {
		t.Fatalf("Check after the table was removed = %+v", d)
	}
	if res, _ := f.Setup(ctx, cfg, SetupOptions{}); !res.Created || len(res.NewSets) != 6 {
		t.Fatalf("Setup after the table was removed = %+v", res)
	}
	if d, _ := f.Check(ctx); !d.InSync {
		t.Fatalf("Check after the repair = %+v", d)
	}
}

func nftMsg(t *testing.T, msg uint16, family uint8, table string) netlink.Message {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.String(1, table)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | msg), PID: 77},
		Data:   append([]byte{family, 0, 0, 0}, b...),
	}
}

// TestOwnChange: the monitor keeps changes to table inet ftwall's objects
// and skips elements, other tables and other families.
func TestOwnChange(t *testing.T) {
	for _, c := range []struct {
		msg    uint16
		family uint8
		table  string
		want   string
	}{
		{unix.NFT_MSG_DELTABLE, unix.NFPROTO_INET, TableName, "deltable"},
		{unix.NFT_MSG_DELRULE, unix.NFPROTO_INET, TableName, "delrule"},
		{unix.NFT_MSG_NEWCHAIN, unix.NFPROTO_INET, TableName, "newchain"},
		{unix.NFT_MSG_DELSET, unix.NFPROTO_INET, TableName, "delset"},
		{unix.NFT_MSG_NEWSETELEM, unix.NFPROTO_INET, TableName, ""},
		{unix.NFT_MSG_DELSETELEM, unix.NFPROTO_INET, TableName, ""},
		{unix.NFT_MSG_NEWGEN, unix.NFPROTO_INET, TableName, ""},
		{unix.NFT_MSG_DELTABLE, unix.NFPROTO_INET, "filter", ""},
		{unix.NFT_MSG_DELTABLE, unix.NFPROTO_IPV4, TableName, ""},
	} {
		got, ok := ownChange(nftMsg(t, c.msg, c.family, c.table))
		if ok != (c.want != "") || got != c.want {
			t.Errorf("msg %d family %d table %q: %q, %v; want %q", c.msg, c.family, c.table, got, ok, c.want)
		}
	}
	if _, ok := ownChange(netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_DELTABLE)}}); ok {
		t.Error("a message without a body was taken")
	}
}
