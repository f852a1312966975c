package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// writeStorefile writes a storefile of n IPv6 peers from storePeers6, all
// seen now, with the store package.
func writeStorefile(path string, n int) error {
	st, err := store.Open(path, 0)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	a := storePeers6.Addr()
	for range n {
		a = a.Next()
		st.Put(store.Peer{Addr: a, Port: 1214, LastSeen: now, Reason: "ftwbench"})
	}
	if err := st.Save(); err != nil {
		return fmt.Errorf("write the P4 storefile: %w", err)
	}
	return nil
}

// p4 measures a million-peer storefile: start-up with it, forwarding with
// the full sets against empty ones, and `ftwall status`.
func (r *runner) p4(ctx context.Context) *Section {
	s := &Section{ID: "P4", Title: "scale"}
	n := r.sz.p4Peers
	s.Method = []string{
		fmt.Sprintf("A storefile of %d peers (IPv6, from %s: the IPv4 documentation ranges are far too small, and no packet is ever sent to these addresses) is written once with internal/store. In every run: `ftwall run` starts with an empty table and the forwarding of the client's IPv6 traffic to the internet namespace is measured (iperf3 -6 bulk TCP and the small-UDP flood of P1 over IPv6: 18-byte payloads to 2001:db8:100::1–::20); then the table is removed, `ftwall run --store FILE` starts and loads the file, and the same forwarding is measured with every element in peers6 (each forwarded IPv6 packet is looked up in it, as destination from the LAN and as source from the WAN).", n, storePeers6),
		"**Load time** is from starting `ftwall run --store FILE` until it logs `inspecting` (reading and parsing the file, putting the peers into the kernel, binding the queue); the kernel part alone is the `took=` of its `storefile loaded` log line. **Status time** is the wall-clock time of `ftwall status --json` (whose output also confirms the element count).",
	}
	path := filepath.Join(r.tmp, "peers.store")
	gen := time.Now()
	if err := writeStorefile(path, n); err != nil {
		s.fail("%v", err)
		return s
	}
	r.log.Info("storefile written", "peers", n, "took", time.Since(gen).Round(time.Millisecond))
	var load, took, status Series
	var tcp, pps [2][]float64
	var peaks []float64
	for run := range r.o.Runs {
		res, err := r.p4Once(ctx, s, path)
		if err != nil {
			s.fail("run %d: %v", run+1, err)
			res = p4Result{tcp: [2]float64{math.NaN(), math.NaN()}, pps: [2]float64{math.NaN(), math.NaN()}, load: math.NaN(), took: math.NaN(), status: math.NaN(), rss: math.NaN()}
		}
		for i := range 2 {
			tcp[i] = append(tcp[i], res.tcp[i])
			pps[i] = append(pps[i], res.pps[i])
		}
		load.Add(res.load)
		took.Add(res.took)
		status.Add(res.status)
		peaks = append(peaks, res.rss)
		if ctx.Err() != nil {
			break
		}
	}
	s.figure(fmt.Sprintf("load time of %d peers (start → inspecting)", n), UnitSeconds, load)
	s.figure("of which the kernel load (storefile loaded took=)", UnitSeconds, took)
	s.figure(fmt.Sprintf("ftwall status --json with %d elements", n), UnitSeconds, status)
	s.figure("IPv6 TCP throughput, empty sets", UnitBits, clean(tcp[0]))
	s.figure(fmt.Sprintf("IPv6 TCP throughput, %d elements", n), UnitBits, clean(tcp[1]))
	s.figure("IPv6 UDP packets/s arrived, empty sets", UnitPPS, clean(pps[0]))
	s.figure(fmt.Sprintf("IPv6 UDP packets/s arrived, %d elements", n), UnitPPS, clean(pps[1]))
	s.figure("TCP ratio full / empty", UnitRatio, Ratios(tcp[1], tcp[0]))
	s.figure("UDP pps ratio full / empty", UnitRatio, Ratios(pps[1], pps[0]))
	r.p4Peaks = clean(peaks)
	return s
}

type p4Result struct {
	tcp, pps                [2]float64 // [empty, full]
	load, took, status, rss float64
}

func (r *runner) p4Once(ctx context.Context, s *Section, path string) (res p4Result, err error) {
	if err := r.cleanRouter(ctx); err != nil {
		return res, err
	}
	defer func() {
		if cerr := r.cleanRouter(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	// Empty sets.
	p, _, err := r.startFtwall(ctx, s, 1)
	if err != nil {
		return res, err
	}
	if res.tcp[0], res.pps[0], err = r.forward6(ctx, s); err != nil {
		p.Kill()
		return res, err
	}
	if err := p.Stop(30 * time.Second); err != nil {
		return res, err
	}
	if err := r.cleanRouter(ctx); err != nil {
		return res, err
	}

	// The storefile.
	p, ready, err := r.startFtwall(ctx, s, 1, "--store", path)
	if err != nil {
		return res, err
	}
	defer stopProc(s, p)
	res.load = ready.Seconds()
	d, ok := LogDuration(p.Output(), "storefile loaded", "took")
	if !ok {
		return res, fmt.Errorf("ftwall run --store did not log `storefile loaded … took=`:\n%s", tail(p.Output(), 2000))
	}
	res.took = d.Seconds()
	if got := LogAttr(p.Output(), "storefile loaded", "peers"); got != strconv.Itoa(r.sz.p4Peers) {
		return res, fmt.Errorf("ftwall run loaded peers=%s from the storefile, want %d", got, r.sz.p4Peers)
	}
	out, statusTook, err := RunTimed(ctx, r.lab.Router, r.o.Ftwall, "status", "--json")
	s.command("ip netns exec <router> " + ShellQuote([]string{r.o.Ftwall, "status", "--json"}))
	if err != nil {
		return res, err
	}
	res.status = statusTook.Seconds()
	if n, err := statusCount([]byte(out), nft.SetPeers6); err != nil {
		return res, err
	} else if n != r.sz.p4Peers {
		return res, fmt.Errorf("ftwall status: %s has %d elements, want %d", nft.SetPeers6, n, r.sz.p4Peers)
	}
	if res.tcp[1], res.pps[1], err = r.forward6(ctx, s); err != nil {
		return res, err
	}
	rss, err := p.PeakRSS()
	if err != nil {
		return res, err
	}
	res.rss = float64(rss)
	return res, nil
}

// forward6 measures IPv6 TCP throughput and small-UDP packets per second.
func (r *runner) forward6(ctx context.Context, s *Section) (bps, pps float64, err error) {
	if bps, err = r.measureTCP(ctx, s, r.lab.InternetIP6); err != nil {
		return 0, 0, fmt.Errorf("iperf3 -6: %w", err)
	}
	if pps, _, err = r.measurePPS(ctx, s, true, false); err != nil {
		return 0, 0, fmt.Errorf("UDP flood over IPv6: %w", err)
	}
	return bps, pps, nil
}

// statusCount returns the element count of set in `ftwall status --json`
// output.
func statusCount(out []byte, set string) (int, error) {
	var st struct {
		Present bool `json:"present"`
		Sets    []struct {
			Name  string `json:"name"`
			Count int    `json:"count"`
		} `json:"sets"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return 0, fmt.Errorf("ftwall status --json: %w", err)
	}
	if !st.Present {
		return 0, fmt.Errorf("ftwall status --json: table inet %s absent", nft.TableName)
	}
	for _, s := range st.Sets {
		if s.Name == set {
			return s.Count, nil
		}
	}
	return 0, fmt.Errorf("ftwall status --json: no set %s", set)
}
