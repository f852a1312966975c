package audit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// writeReport prints the readable report: one block per FastTrack client,
// then totals. runErr, when set, is noted as the reason the report is
// incomplete.
func (a *auditor) writeReport(runErr error) {
	clients := a.lockedClients()
	a.printf("P2P audit (%s): %d file(s), %d packets, %d evidence events\n", a.protocolNames(), a.files, a.packets, a.events)
	if len(clients) == 0 {
		a.printf("\nno P2P client found on the LAN side\n")
	}
	for _, c := range clients {
		a.printf("\nclient %s\n", c.addr)
		if !c.first.IsZero() {
			a.printf("  seen        %s .. %s\n", c.first.UTC().Format(time.RFC3339Nano), c.last.UTC().Format(time.RFC3339Nano))
		}
		var kinds []string
		for k, n := range c.kinds {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		slices.Sort(kinds)
		a.printf("  evidence    %s\n", strings.Join(kinds, ", "))
		if len(c.networks) > 0 {
			a.printf("  networks    %s\n", strings.Join(sortedValues(c.networks), ", "))
		}
		if len(c.users) > 0 {
			var users []string
			for u := range c.users {
				users = append(users, strconv.Quote(u))
			}
			slices.Sort(users)
			a.printf("  usernames   %s\n", strings.Join(users, ", "))
		}
		if len(c.ports) > 0 {
			ports := make([]uint16, 0, len(c.ports))
			for p := range c.ports {
				ports = append(ports, p)
			}
			slices.Sort(ports)
			strs := make([]string, len(ports))
			for i, p := range ports {
				strs[i] = strconv.Itoa(int(p))
			}
			a.printf("  lock ports  %s\n", strings.Join(strs, ", "))
		}
		peers := sortedAddrs(c.peers)
		if len(peers) == 0 {
			a.printf("  peers       none that could be blocked\n")
		} else {
			a.printf("  peers       %d: %s\n", len(peers), strings.Join(peers, ", "))
		}
	}
	a.printf("\ntotals\n")
	total := func(name string, n int) { a.printf("  %-28s %d\n", name, n) }
	total("clients", len(clients))
	total("peers", len(a.peers))
	total("supernodes", len(a.supernodes))
	total("packets", a.packets)
	total("evidence events", a.events)
	total("events from outside the LAN", a.outside)
	total("packets ftwall would drop", a.drops)
	if a.nonIP > 0 || a.undecodable > 0 || a.truncated > 0 {
		total("non-IP frames", a.nonIP)
		total("undecodable IP packets", a.undecodable)
		total("records cut by snap length", a.truncated)
	}
	if runErr != nil {
		a.printf("\nincomplete: reading stopped early (%v)\n", runErr)
	}
}

func (a *auditor) printf(format string, args ...any) {
	if a.outErr != nil {
		return
	}
	_, a.outErr = fmt.Fprintf(a.out, format, args...)
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// protocolNames lists the detectors the audit looked for.
func (a *auditor) protocolNames() string {
	var names []string
	for _, d := range a.detectors {
		names = append(names, string(d.Protocol()))
	}
	return strings.Join(names, ", ")
}
