package cli

import (
	"fmt"
	"github.com/ftwall/ftwall/internal/ctl"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/nft"
)

// statusReport is status's JSON output. Its field names are stable; times
// are seconds (0 = no timeout, never expires).
type statusReport struct {
	Table   string `json:"table"`
	Present bool   `json:"present"`
	// Backend is "native", "compat", or "none" when no queue rule exists.
	Backend  string         `json:"backend"`
	Sets     []setReport    `json:"sets"`
	Counters countersReport `json:"counters"`
	Rules    []ruleReport   `json:"rules"`
	// Interfaces are those the table names, and whether each exists.
	Interfaces []ifaceReport `json:"interfaces"`
	// Queues are the queues the rules send candidates to, and whether a
	// reader (ftwall run) is bound to each.
	Queues  []queueReport `json:"queues"`
	Service serviceReport `json:"service"`
}

type ifaceReport struct {
	Name   string `json:"name"`
	Role   string `json:"role"` // "lan" or "wan"
	Exists bool   `json:"exists"`
}

type queueReport struct {
	Num         uint16 `json:"num"`
	ReaderBound bool   `json:"reader_bound"`
	// PortID is the bound reader's netlink port id (0 when none).
	PortID uint32 `json:"port_id"`
}

// serviceReport describes ftwall run as its run directory tells.
type serviceReport struct {
	Running bool   `json:"running"`
	PID     int    `json:"pid,omitempty"`
	Version string `json:"version,omitempty"`
	DryRun  bool   `json:"dry_run"`
	// Started is when the service started (RFC 3339), "" when unknown.
	Started string `json:"started,omitempty"`
	// Error says why the service's details are missing while it runs.
	Error string `json:"error,omitempty"`
	// Share is the state of sharing with other gateways (absent: not
	// sharing).
	Share *ctl.ShareInfo `json:"share,omitempty"`
}

type setReport struct {
	Name           string          `json:"name"`
	Count          int             `json:"count"`
	TimeoutSeconds float64         `json:"timeout_seconds"`
	Elements       []elementReport `json:"elements"`
}

type elementReport struct {
	Addr string `json:"addr"`
	// TimeoutSeconds is the element's own timeout, 0 when it uses the
	// set's default.
	TimeoutSeconds float64 `json:"timeout_seconds"`
	// ExpiresSeconds is the remaining lifetime, 0 when it never expires.
	ExpiresSeconds float64 `json:"expires_seconds"`
}

type countersReport struct {
	DroppedToPeers   packetsBytes `json:"dropped_to_peers"`
	DroppedFromPeers packetsBytes `json:"dropped_from_peers"`
	LockRejects      packetsBytes `json:"lock_rejects"`
	Queued           packetsBytes `json:"queued"`
}

type packetsBytes struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

type ruleReport struct {
	Chain   string `json:"chain"`
	Rule    string `json:"rule"`
	Comment string `json:"comment"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (inv *invocation) status(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	sample := c.Int(optSample)
	if sample < 0 {
		return inv.badOption(optSample, "%d is negative", sample)
	}
	var st *nft.Status
	err := inv.withFirewall(func(fw nft.Firewall) error {
		var err error
		st, err = fw.Status(c.Context, sample)
		if err != nil {
			return fmt.Errorf("read %s: %w", tableName, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rep := newStatusReport(st)
	inv.addRuntime(c, st, &rep)
	if c.Bool(optJSON) {
		err = writeJSON(inv.env.stdout, rep)
	} else {
		var b strings.Builder
		if err = writeStatus(&b, rep); err == nil {
			_, err = io.WriteString(inv.env.stdout, b.String())
		}
	}
	if err == nil && !rep.Present {
		return &quietExit{code: ExitAbsent}
	}
	return err
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

func counterOf(v nft.CounterValue) packetsBytes {
	return packetsBytes{Packets: v.Packets, Bytes: v.Bytes}
}

// newStatusReport converts the firewall's status to the output form.
func newStatusReport(st *nft.Status) statusReport {
	rep := statusReport{Table: "inet " + nft.TableName, Sets: []setReport{}, Rules: []ruleReport{}, Interfaces: []ifaceReport{}, Queues: []queueReport{}}
	if st == nil || !st.Present {
		rep.Backend = "none"
		return rep
	}
	rep.Present = true
	rep.Backend = st.Backend.String()
	if st.Backend == nft.BackendAuto {
		rep.Backend = "none"
	}
	for _, s := range st.Sets {
		sr := setReport{Name: s.Name, Count: s.Count, TimeoutSeconds: seconds(s.Timeout), Elements: []elementReport{}}
		for _, e := range s.Sample {
			sr.Elements = append(sr.Elements, elementReport{Addr: e.Addr.String(), TimeoutSeconds: seconds(e.Timeout), ExpiresSeconds: seconds(e.Expires)})
		}
		rep.Sets = append(rep.Sets, sr)
	}
	rep.Counters = countersReport{
		DroppedToPeers:   counterOf(st.DroppedToPeers),
		DroppedFromPeers: counterOf(st.DroppedFromPeers),
		LockRejects:      counterOf(st.LockRejects),
		Queued:           counterOf(st.Queued),
	}
	for _, r := range st.Counters {
		rep.Rules = append(rep.Rules, ruleReport{Chain: r.Chain, Rule: r.Rule, Comment: r.Comment, Packets: r.Packets, Bytes: r.Bytes})
	}
	return rep
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// writeStatus writes the human form of rep: aligned tables of the sets,
// the sampled elements and the counters.
func writeStatus(w io.Writer, rep statusReport) error {
	if !rep.Present {
		_, err := fmt.Fprintf(w, "%s is not present (ftwall setup or ftwall run creates it)\n", tableName)
		writeService(w, rep.Service)
		return err
	}
	fmt.Fprintf(w, "%s: present, queue backend: %s\n", tableName, rep.Backend)
	writeRuntime(w, rep)
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "SET\tELEMENTS\tDEFAULT TIMEOUT")
	for _, s := range rep.Sets {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", s.Name, s.Count, humanDuration(s.TimeoutSeconds, "none"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range rep.Sets {
		if len(s.Elements) == 0 {
			continue
		}
		head := fmt.Sprintf("%s (%s)", s.Name, plural(s.Count, "element"))
		if len(s.Elements) < s.Count {
			head = fmt.Sprintf("%s (first %d of %s)", s.Name, len(s.Elements), plural(s.Count, "element"))
		}
		fmt.Fprintf(w, "\n%s:\n", head)
		tw := newTable(w)
		for _, e := range s.Elements {
			what := expiresText(e.ExpiresSeconds)
			if s.Name == nft.SetAllow4 || s.Name == nft.SetAllow6 {
				what = "start of an allowed range"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", e.Addr, what)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "COUNTER\tPACKETS\tBYTES")
	for _, r := range []struct {
		name string
		v    packetsBytes
	}{
		{"dropped to peers", rep.Counters.DroppedToPeers},
		{"dropped from peers", rep.Counters.DroppedFromPeers},
		{"lock rejects", rep.Counters.LockRejects},
		{"packets queued", rep.Counters.Queued},
	} {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", r.name, r.v.Packets, r.v.Bytes)
	}
	return tw.Flush()
}

func expiresText(sec float64) string {
	if sec <= 0 {
		return "never expires"
	}
	return "expires in " + humanDuration(sec, "")
}

// humanDuration formats a number of seconds compactly: 24h, 2m, 1h30m,
// 59s, 450ms; zero is shown as zero.
func humanDuration(sec float64, zero string) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Millisecond)
	if d <= 0 {
		return zero
	}
	if d < time.Second {
		return d.String()
	}
	d = d.Round(time.Second)
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
		d -= m * time.Minute
	}
	if s := d / time.Second; s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// plural formats n with word, adding an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// addRuntime adds what the table alone does not tell: whether its
// interfaces exist, whether readers are bound to its queues, and the
// running service.
func (inv *invocation) addRuntime(c *cli.Context, st *nft.Status, rep *statusReport) {
	svc := inv.service(c)
	rep.Service = serviceReport{Running: svc.running, PID: svc.pid}
	if svc.info != nil {
		rep.Service.Version, rep.Service.DryRun = svc.info.Version, svc.info.DryRun
		rep.Service.Started = svc.info.Started.UTC().Format(time.RFC3339)
		rep.Service.Share = svc.info.Share
	} else if svc.err != nil {
		rep.Service.Error = oneLine(svc.err)
	}
	if st == nil || !st.Present {
		return
	}
	have := map[string]bool{}
	if names, err := inv.env.interfaceNames(); err == nil {
		for _, n := range names {
			have[n] = true
		}
	}
	for _, n := range st.Interfaces.LAN {
		rep.Interfaces = append(rep.Interfaces, ifaceReport{Name: n, Role: "lan", Exists: have[n]})
	}
	for _, n := range st.Interfaces.WAN {
		rep.Interfaces = append(rep.Interfaces, ifaceReport{Name: n, Role: "wan", Exists: have[n]})
	}
	bound, _ := inv.env.boundQueues()
	for i := uint16(0); i < st.Queues; i++ {
		num := st.QueueNum + i
		port, ok := bound[num]
		rep.Queues = append(rep.Queues, queueReport{Num: num, ReaderBound: ok, PortID: port})
	}
}

// writeRuntime writes the interfaces, queues and service lines.
func writeRuntime(w io.Writer, rep statusReport) {
	var lan, wan []string
	for _, i := range rep.Interfaces {
		state := "present"
		if !i.Exists {
			state = "MISSING"
		}
		if i.Role == "lan" {
			lan = append(lan, fmt.Sprintf("%s (%s)", i.Name, state))
		} else {
			wan = append(wan, fmt.Sprintf("%s (%s)", i.Name, state))
		}
	}
	wanText := strings.Join(wan, ", ")
	if len(wan) == 0 {
		wanText = "every interface that is not LAN"
	}
	fmt.Fprintf(w, "interfaces: LAN %s; WAN %s\n", strings.Join(lan, ", "), wanText)
	var qs []string
	for _, q := range rep.Queues {
		state := "reader bound"
		if !q.ReaderBound {
			state = "NO READER: candidates pass uninspected"
		}
		qs = append(qs, fmt.Sprintf("%d (%s)", q.Num, state))
	}
	if len(qs) > 0 {
		fmt.Fprintf(w, "queues: %s\n", strings.Join(qs, ", "))
	}
	writeService(w, rep.Service)
}

func writeService(w io.Writer, s serviceReport) {
	switch {
	case !s.Running:
		fmt.Fprintln(w, "service: ftwall run is not running")
	case s.Version == "":
		fmt.Fprintf(w, "service: ftwall run, pid %d (no answer on the control socket: %s)\n", s.PID, s.Error)
	default:
		dry := ""
		if s.DryRun {
			dry = ", DRY-RUN (nothing is blocked)"
		}
		fmt.Fprintf(w, "service: ftwall run %s, pid %d, since %s%s\n", s.Version, s.PID, s.Started, dry)
	}
	if sh := s.Share; sh != nil {
		writeShare(w, sh)
	}
}

// writeShare writes the share lines of the status.
func writeShare(w io.Writer, sh *ctl.ShareInfo) {
	conn := "NOT CONNECTED (blocking goes on with what this gateway knows; what it learns waits in the backlog)"
	if sh.Connected {
		conn = "connected to " + sh.Server
	}
	if sh.LastError != "" && !sh.Connected {
		conn += "; last error: " + sh.LastError
	}
	loaded := "loading the shared entries"
	if sh.Loaded {
		loaded = "shared entries loaded"
	}
	fmt.Fprintf(w, "share: mode %s as %s, %s, %s\n", sh.Mode, sh.Gateway, conn, loaded)
	var rej []string
	for _, r := range []string{"not-candidate", "not-lan", "pardoned", "no-timelock"} {
		if n := sh.Rejected[r]; n > 0 {
			rej = append(rej, fmt.Sprintf("%s %d", r, n))
		}
	}
	rejText := "none"
	if len(rej) > 0 {
		rejText = strings.Join(rej, ", ")
	}
	fmt.Fprintf(w, "share: published %d (backlog %d, dropped %d, failed attempts %d); received %d: applied %d peers and %d locks, deleted %d, expired %d, undecodable %d, rejected %s; lag %.1f ms; reconnects %d, consumers lost %d\n",
		sh.Published, sh.Backlog, sh.Dropped, sh.PublishErrors, sh.Entries, sh.AppliedPeers, sh.AppliedLocks, sh.Deleted, sh.Expired, sh.Undecodable, rejText, sh.LagMillis, sh.Reconnects, sh.ConsumersLost)
}
