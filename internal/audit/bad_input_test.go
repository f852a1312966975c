package audit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ftwall/ftwall/inspect/inspecttest"
)

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuditBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pcap")
	n := writePcap(t, good, layers.LinkTypeEthernet, func(ip []byte) []byte { return ethernet(ip) }, scenario())
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	goodNg := filepath.Join(dir, "good.pcapng")
	writePcapng(t, goodNg, layers.LinkTypeEthernet, func(ip []byte) []byte { return ethernet(ip) }, scenario())
	goodNgBytes, err := os.ReadFile(goodNg)
	if err != nil {
		t.Fatal(err)
	}
	// The last scenario record is the snapped GET: 14 bytes of Ethernet
	// and its captured IP bytes. Cutting the file 8 bytes into that
	// record's 16-byte header leaves a partial record header.
	last := scenario()[len(scenario())-1]
	lastCaptured := 14 + last.snapped
	wifi := filepath.Join(dir, "wifi.pcap")
	writePcap(t, wifi, layers.LinkTypeIEEE802_11, func(ip []byte) []byte { return ethernet(ip) }, scenario()[:2])

	cases := []struct {
		name      string
		files     []string
		wantErr   []string // substrings of the error
		wantPkts  int      // packets in the summary printed before the error
		wantEvent int
	}{
		{"not a capture", []string{writeFile(t, dir, "notes.txt", []byte("hello, this is text\n"))},
			[]string{"notes.txt", "not a pcap or pcapng capture", "68 65 6c 6c"}, 0, 0},
		{"empty file", []string{writeFile(t, dir, "empty.pcap", nil)}, []string{"empty.pcap", "empty file"}, 0, 0},
		{"short file", []string{writeFile(t, dir, "short.pcap", []byte{0xd4, 0xc3})}, []string{"short.pcap", "2 bytes"}, 0, 0},
		{"pcap header cut", []string{writeFile(t, dir, "hdr.pcap", goodBytes[:10])}, []string{"hdr.pcap", "damaged pcap file header", "ends too early"}, 0, 0},
		{"truncated last record", []string{writeFile(t, dir, "cut.pcap", goodBytes[:len(goodBytes)-5])},
			[]string{"cut.pcap", "record " + itoa(n), "truncated capture file"}, n - 1, 5},
		{"truncated record header", []string{writeFile(t, dir, "cuthdr.pcap", goodBytes[:len(goodBytes)-lastCaptured-8])},
			[]string{"cuthdr.pcap", "record " + itoa(n), "truncated"}, n - 1, 5},
		{"truncated pcapng", []string{writeFile(t, dir, "cut.pcapng", goodNgBytes[:len(goodNgBytes)-7])},
			[]string{"cut.pcapng", "record " + itoa(n), "truncated capture file"}, n - 1, 5},
		{"unsupported link type", []string{wifi}, []string{"wifi.pcap", "record 1", "link type", "not supported"}, 1, 0},
		{"missing file", []string{filepath.Join(dir, "nope.pcap")}, []string{"nope.pcap", "no such file"}, 0, 0},
		{"good then bad", []string{good, writeFile(t, dir, "bad2.pcap", []byte("GET / HTTP/1.1\r\n"))}, []string{"bad2.pcap", "not a pcap"}, n, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, sum, _, err := runJSON(t, Options{Files: c.files})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if sum.Packets != c.wantPkts || sum.Events != c.wantEvent {
				t.Errorf("summary before the error: %d packets %d events, want %d %d", sum.Packets, sum.Events, c.wantPkts, c.wantEvent)
			}
			var out bytes.Buffer
			err2 := Run(context.Background(), Options{Files: c.files}, &out)
			if err2 == nil || !strings.Contains(out.String(), "incomplete: reading stopped early") || !strings.Contains(out.String(), "totals") {
				t.Errorf("report mode: err %v, output:\n%s", err2, out.String())
			}
		})
	}
}

func TestAuditDamagedRecord(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	pkt := inspecttest.UDP(client4, peerA, inspecttest.Ping("KaZaA"))
	if err := w.WritePacket(gopacket.CaptureInfo{CaptureLength: len(pkt), Length: len(pkt)}, pkt); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// A second record header claiming more captured than original bytes.
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 10, 0, 0, 0)
	_, sum, _, err := runJSON(t, Options{Files: []string{writeFile(t, t.TempDir(), "dmg.pcap", b)}})
	if err == nil || !strings.Contains(err.Error(), "dmg.pcap: record 2: damaged record") {
		t.Fatalf("err %v", err)
	}
	if sum.Events != 1 || sum.Packets != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func TestAuditNoFiles(t *testing.T) {
	if err := Run(context.Background(), Options{}, io.Discard); err == nil {
		t.Error("no error without files")
	}
}

func TestAuditCancel(t *testing.T) {
	frames := make([]frame, 0, 1000)
	for range 1000 {
		frames = append(frames, frame{ip: inspecttest.UDP(client4, peerA, inspecttest.Ping("KaZaA"))})
	}
	path := filepath.Join(t.TempDir(), "big.pcap")
	writePcap(t, path, layers.LinkTypeRaw, func(ip []byte) []byte { return ip }, frames)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	err := Run(ctx, Options{Files: []string{path}, JSON: true}, &out)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "big.pcap") {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(out.String(), `"packets":255`) {
		t.Errorf("summary after cancel: %s", out.String()[strings.LastIndex(strings.TrimRight(out.String(), "\n"), "\n")+1:])
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestAuditWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcap")
	writePcap(t, path, layers.LinkTypeRaw, func(ip []byte) []byte { return ip }, scenario()[1:])
	err := Run(context.Background(), Options{Files: []string{path}}, failWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err %v", err)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
