package nft

import (
	"context"
	"slices"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Status reads the table directly from the kernel (no nft program): sets with
// their element counts and up to sample elements each, the rules' counters
// and the queue backend in use. Memory stays bounded however large the sets
// are; see setStatus for the time it takes.
func (k *Kernel) Status(ctx context.Context, sample int) (*Status, error) {
	if err := k.check(ctx); err != nil {
		return nil, err
	}
	c, err := k.dial(ctx, true, 0, 0)
	if err != nil {
		return nil, kernelError("connect to nftables", noNftables(err))
	}
	st, err := readState(ctx, c)
	c.close()
	if err != nil {
		return nil, err
	}
	s := &Status{Present: st.present}
	if !st.present {
		return s, nil
	}
	if s.Interfaces, err = k.readInterfaces(ctx); err != nil {
		return nil, err
	}
	infos, err := k.readSetInfo(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range setNames() {
		info, ok := infos[name]
		if !ok {
			continue
		}
		ss, err := k.setStatus(ctx, info, sample)
		if err != nil {
			return nil, err
		}
		s.Sets = append(s.Sets, ss)
	}
	for _, ch := range st.chains {
		for _, r := range st.rules[ch.Name] {
			cnt := Counter{Chain: ch.Name}
			if text, ok := commentFromUserData(r.UserData); ok {
				cnt.Comment = text
				if rc, ok := parseRuleComment(text); ok {
					cnt.Rule = rc.ID
				}
			}
			found := false
			for _, e := range r.Exprs {
				switch e := e.(type) {
				case *expr.Counter:
					cnt.Packets, cnt.Bytes, found = e.Packets, e.Bytes, true
				default:
					if b, ok := queueBackendOf(e); ok {
						s.Backend = b
					}
					if n, t, ok := queueRangeOf(e); ok {
						s.QueueNum, s.Queues = n, t
					}
				}
			}
			if found {
				s.Counters = append(s.Counters, cnt)
			}
		}
	}
	s.sumCounters()
	return s, nil
}

// setStatus counts a set and samples it. Where the kernel reports the element
// count (NFTA_SET_COUNT, recent kernels) only the sample is read, which
// costs the same for a set of a million elements as for a small one.
// Otherwise the whole set is streamed to count it; memory stays bounded but
// the kernel's dump of a large hash set takes seconds. Interval sets (allow)
// are always streamed: they are small and the kernel counts both ends of
// each range.
func (k *Kernel) setStatus(ctx context.Context, info setInfo, sample int) (SetStatus, error) {
	kind, err := lookupSet(info.name)
	if err != nil {
		return SetStatus{}, err
	}
	ss := SetStatus{Name: info.name, Timeout: info.timeout}
	useCount := info.hasCount && info.flags&unix.NFT_SET_INTERVAL == 0 && !k.ignoreSetCount
	if useCount {
		ss.Count = info.count
	}
	if !useCount || sample > 0 {
		n := 0
		if _, err := k.dumpSet(ctx, kind, func(e Element) bool {
			n++
			if len(ss.Sample) < sample {
				if e.Timeout == info.timeout {
					e.Timeout = 0
				}
				ss.Sample = append(ss.Sample, e)
			}
			return !useCount || len(ss.Sample) < sample
		}); err != nil {
			return SetStatus{}, err
		}
		if !useCount {
			ss.Count = n
		}
	}
	slices.SortFunc(ss.Sample, func(a, b Element) int { return a.Addr.Compare(b.Addr) })
	return ss, nil
}
