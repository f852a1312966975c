// Package bench is ftwall's benchmark suite (`sudo make bench`, cmd/ftwbench):
// it builds a namespace lab (internal/lab), runs the real `ftwall` binary in
// the router namespace and measures
//
//	P1 forwarding cost: bulk TCP (iperf3) and 64-byte UDP packets per second
//	   through the router with ftwall's table (both detectors, and FastTrack's
//	   alone) vs no table, and vs a ruleset that queues every LAN packet to
//	   user space (ftwall 1.x's design);
//	P2 inspector throughput: candidates per second `ftwall run` verdicts vs a
//	   bare go-nfqueue loop, with one and two queues, for FastTrack ping and
//	   GET floods and BitTorrent DHT and uTP SYN floods;
//	P3 detection latency: FastTrack ping or BitTorrent DHT query sent → next
//	   packet to that peer dropped;
//	P4 scale: a million-peer storefile (load time, forwarding, status time);
//	P5 memory: peak RSS of `ftwall run` during P2 and P4;
//
// and writes BENCHMARKS.md: every figure is the median of several runs with
// its min–max spread, with the machine, kernel, date and commands, and a
// plain statement of which targets are met.
//
// Traffic only ever flows between the lab's namespaces, to documentation
// addresses (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32) or the lab's own
// 10.x/fd00:: addresses. ftwbench's own helper tables (inet ftwbench) live in
// the lab's namespaces only (router, internet, and client during the GET
// flood); the host's ruleset is never touched.
package bench
