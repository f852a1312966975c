package nft

import (
	"fmt"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// lockSets are the sets the enforcement chains use: locked4/6 and, with
// LockReject, the reset meters (nil otherwise).
type lockSets struct {
	locked [2]*setSpec
	meter  [2]*setSpec
}

func lockRefuseChain(v6 bool) string {
	if v6 {
		return ChainLockRefuse6
	}
	return ChainLockRefuse4
}

// meterSet is a dynamic set the rules fill themselves (one token bucket per
// address); Setup empties it, nothing else writes to it.
func (b *builder) meterSet(name string, t nftables.SetDatatype) *setSpec {
	return &setSpec{set: &nftables.Set{
		Table: b.table, ID: b.id(), Name: name, KeyType: t,
		HasTimeout: true, Timeout: lockResetMeterTimeout * time.Millisecond,
		Dynamic: true, Size: LockSetSize, KeyByteOrder: binaryutil.BigEndian,
	}}
}

// loadSourceAddr loads the source address (ip saddr / ip6 saddr) into reg1;
// the family match must precede it.
func loadSourceAddr(v6 bool) expr.Any {
	if v6 {
		return &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16}
	}
	return &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}
}

// refreshLock restarts the countdown of the lock element of the address in
// reg1 (update @locked4 { ip saddr }): only used on packets whose source is
// in the set already, so it never adds a client.
func refreshLock(locked *nftables.Set) expr.Any {
	return &expr.Dynset{SrcRegKey: reg1, SetName: locked.Name, SetID: locked.ID, Operation: unix.NFT_DYNSET_OP_UPDATE}
}

// lockRefuseChains refuse a locked client's TCP segment (its new connection
// to the WAN, or any segment to a known peer):
//
//   - the refusal is a sign of life: the client's lock is refreshed in the
//     kernel, so a running client stays locked without answering probes;
//   - with LockReject, a per-client token bucket (LockResetRate, of
//     LockResetBurst packets: the kernel's bucket holds the burst only) bounds the
//     resets: a client in a reconnect loop gets its further SYNs dropped
//     instead of a storm of resets on the LAN;
//   - then the reset (or the drop, with LockDrop).
func lockRefuseChains(b *builder, action LockAction, ls lockSets) []*chainSpec {
	var out []*chainSpec
	for _, v6 := range []bool{false, true} {
		i := btoi(v6)
		fam := "IPv4"
		seenID, limitID, refuseID := RuleLockSeen4, RuleLockLimit4, RuleRefuse4
		if v6 {
			fam = "IPv6"
			seenID, limitID, refuseID = RuleLockSeen6, RuleLockLimit6, RuleRefuse6
		}
		c := &chainSpec{chain: &nftables.Chain{Name: lockRefuseChain(v6), Table: b.table}}
		// The chain is only entered from rules that matched the family;
		// the rules match it again all the same, as every rule of the table
		// that reads the network header does.
		c.rules = append(c.rules, &ruleSpec{
			id:    seenID,
			desc:  fmt.Sprintf("refused TCP of a locked %s client: a sign of life, refresh its lock", fam),
			exprs: concat(matchNFProto(v6), []expr.Any{loadSourceAddr(v6), refreshLock(ls.locked[i].set), &expr.Counter{}}),
		})
		verdict, what := expr.Any(&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}), "reject with TCP reset"
		if action == LockDrop {
			verdict, what = &expr.Verdict{Kind: expr.VerdictDrop}, "drop"
		} else {
			m := ls.meter[i].set
			c.rules = append(c.rules, &ruleSpec{
				id:   limitID,
				desc: fmt.Sprintf("more than %d resets per second (burst %d) to one %s client, drop instead", LockResetRate, LockResetBurst, fam),
				exprs: concat(matchNFProto(v6), []expr.Any{
					loadSourceAddr(v6),
					&expr.Dynset{SrcRegKey: reg1, SetName: m.Name, SetID: m.ID, Operation: unix.NFT_DYNSET_OP_UPDATE,
						Exprs: []expr.Any{&expr.Limit{Type: expr.LimitTypePkts, Rate: LockResetRate, Burst: LockResetBurst, Unit: expr.LimitTimeSecond, Over: true}}},
					&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop},
				}),
			})
		}
		c.rules = append(c.rules, &ruleSpec{
			id:    refuseID,
			desc:  fmt.Sprintf("TCP of a time-locked %s client, %s", fam, what),
			exprs: []expr.Any{&expr.Counter{}, verdict},
		})
		out = append(out, c)
	}
	return out
}

// peerDropChains drop a LAN packet to a blocked peer. With the time-lock on,
// a locked client's TCP goes to the lock's refusal chain first (a reset ends
// a FastTrack session that was established before the peer was known), and
// its other packets refresh its lock.
func peerDropChains(b *builder, timeLock bool, ls lockSets) []*chainSpec {
	var out []*chainSpec
	for _, v6 := range []bool{false, true} {
		i := btoi(v6)
		fam, name := "IPv4", ChainPeerDrop4
		resetID, seenID, dropID := RulePeerReset4, RulePeerSeen4, RulePeerDrop4
		if v6 {
			fam, name = "IPv6", ChainPeerDrop6
			resetID, seenID, dropID = RulePeerReset6, RulePeerSeen6, RulePeerDrop6
		}
		c := &chainSpec{chain: &nftables.Chain{Name: name, Table: b.table}}
		if timeLock {
			locked := ls.locked[i].set
			c.rules = append(c.rules, &ruleSpec{
				id:   resetID,
				desc: fmt.Sprintf("TCP of a locked %s client to a blocked peer, to chain %s", fam, lockRefuseChain(v6)),
				exprs: concat(matchNFProto(v6), matchL4Proto(unix.IPPROTO_TCP), matchAddrInSet(v6, true, locked),
					[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictGoto, Chain: lockRefuseChain(v6)}}),
			}, &ruleSpec{
				id:   seenID,
				desc: fmt.Sprintf("a locked %s client tries a blocked peer: a sign of life, refresh its lock", fam),
				// The lookup leaves the address in reg1 for the update.
				exprs: concat(matchNFProto(v6), matchAddrInSet(v6, true, locked), []expr.Any{refreshLock(locked), &expr.Counter{}}),
			})
		}
		c.rules = append(c.rules, &ruleSpec{
			id:    dropID,
			desc:  fmt.Sprintf("LAN to blocked %s peer, drop", fam),
			exprs: []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}},
		})
		out = append(out, c)
	}
	return out
}
