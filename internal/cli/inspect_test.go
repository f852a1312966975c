package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/internal/audit"
)

func TestInspectOptions(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	t.Chdir(dir)
	for _, f := range []string{"a.pcap", "b.pcap", "c.pcapng", "d.pcap", "e.pcap", "env.pcap", "file.pcap"} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.mustRun("inspect", "--pcap", "a.pcap,b.pcap", "--pcap", "c.pcapng", "d.pcap", "e.pcap")
	o := h.audits[0]
	if fmt.Sprint(o.Files) != "[a.pcap b.pcap c.pcapng d.pcap e.pcap]" || o.JSON || fmt.Sprint(o.LAN) != "[10.0.0.0/8]" {
		t.Errorf("options = %+v", o)
	}

	// inspect's own variables; FTWALL_LAN (interfaces, for setup) does not
	// apply to it.
	t.Setenv("FTWALL_LAN", "lan0")
	t.Setenv("FTWALL_INSPECT_LAN", "192.168.0.0/16, 2001:db8::/32")
	t.Setenv("FTWALL_INSPECT_JSON", "true")
	t.Setenv("FTWALL_INSPECT_PCAP", "env.pcap")
	h.mustRun("inspect")
	o = h.audits[1]
	if fmt.Sprint(o.Files) != "[env.pcap]" || !o.JSON || fmt.Sprint(o.LAN) != "[192.168.0.0/16 2001:db8::/32]" {
		t.Errorf("options from the environment = %+v", o)
	}
	// A file named as an argument replaces FTWALL_INSPECT_PCAP; --pcap
	// plus arguments are all read.
	h.mustRun("inspect", "a.pcap")
	if o := h.audits[len(h.audits)-1]; fmt.Sprint(o.Files) != "[a.pcap]" {
		t.Errorf("argument with FTWALL_INSPECT_PCAP: files %v", o.Files)
	}
	h.mustRun("inspect", "--pcap", "b.pcap", "a.pcap")
	if o := h.audits[len(h.audits)-1]; fmt.Sprint(o.Files) != "[b.pcap a.pcap]" {
		t.Errorf("--pcap and argument: files %v", o.Files)
	}

	// The "inspect:" section of the configuration file, under flags and env.
	cfg := writeFile(t, "f.yaml", "lan: [lan0]\ninspect:\n  lan: [172.16.0.0/12]\n  pcap: [file.pcap]\n  json: true\n")
	os.Unsetenv("FTWALL_INSPECT_LAN")
	os.Unsetenv("FTWALL_INSPECT_JSON")
	os.Unsetenv("FTWALL_INSPECT_PCAP")
	h.mustRun("--config", cfg, "inspect", "--json=false")
	o = h.audits[len(h.audits)-1]
	if fmt.Sprint(o.Files) != "[file.pcap]" || o.JSON || fmt.Sprint(o.LAN) != "[172.16.0.0/12]" {
		t.Errorf("options from the file = %+v", o)
	}
}

// writePcap writes an Ethernet capture with one FastTrack node ping from
// the LAN client 10.0.1.2 to the peer 198.51.100.7 and one unrelated DNS
// packet.
func writePcap(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kazaa.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	udp := func(src, dst string, sport, dport layers.UDPPort, payload []byte) {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
		u := &layers.UDP{SrcPort: sport, DstPort: dport}
		if err := u.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, u, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(time.Millisecond)
	}
	udp("10.0.1.2", "198.51.100.7", 3200, 1214, fasttrack.AppendPing(nil, "KaZaA"))
	udp("10.0.1.2", "192.0.2.53", 3201, 53, []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	return p
}

// TestInspectWithAudit runs inspect end to end through internal/audit on a
// capture written here.
func TestInspectWithAudit(t *testing.T) {
	h := newHarness(t)
	h.e.runAudit = audit.Run
	h.e.defaultLAN = audit.DefaultLAN
	pcap := writePcap(t)

	out := h.mustRun("inspect", "--pcap", pcap)
	for _, want := range []string{"client 10.0.1.2", "198.51.100.7"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	// "-" reads the capture from standard input, once.
	data, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	h.e.stdin = bytes.NewReader(data)
	if got := h.mustRun("inspect", "-"); got != out {
		t.Errorf("inspect - (standard input) differs from inspect --pcap FILE:\n%s", got)
	}
	if code := h.run("inspect", "-", "-"); code != ExitUsage || !strings.Contains(h.stderr.String(), "given twice") {
		t.Errorf("inspect - -: exit %d, stderr %q", code, h.stderr.String())
	}

	// With a LAN that does not contain the client there is no client.
	out = h.mustRun("inspect", "--pcap", pcap, "--lan", "192.168.0.0/16")
	if strings.Contains(out, "client 10.0.1.2") {
		t.Errorf("client found outside --lan:\n%s", out)
	}

	// JSON: every line is a JSON object and the client appears.
	out = h.mustRun("inspect", "--json", pcap)
	sc := bufio.NewScanner(strings.NewReader(out))
	lines := 0
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Errorf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		lines++
	}
	if lines == 0 || !strings.Contains(out, "10.0.1.2") {
		t.Errorf("JSON output:\n%s", out)
	}

	// A capture file that does not exist is a runtime error in one line,
	// found before any output.
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	if code := h.run("inspect", pcap, missing); code != ExitRuntime {
		t.Errorf("missing capture: exit %d", code)
	}
	checkOneLine(t, h.stderr.String(), "capture file "+missing+": no such file or directory")
	if h.stdout.Len() != 0 {
		t.Errorf("report printed although a file is missing: %q", h.stdout.String())
	}
	if code := h.run("inspect", t.TempDir()); code != ExitRuntime {
		t.Errorf("directory as capture: exit %d", code)
	}
	checkOneLine(t, h.stderr.String(), "is a directory")

	// A file that is not a capture: the audit reports what it read, and the
	// error is one line.
	junk := writeFile(t, "junk.pcap", "this is not a capture file")
	if code := h.run("inspect", junk); code != ExitRuntime {
		t.Errorf("junk capture: exit %d", code)
	}
	checkOneLine(t, h.stderr.String(), "junk.pcap")
}
