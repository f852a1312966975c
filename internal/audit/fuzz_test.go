package audit

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/gopacket/gopacket/layers"
)

// FuzzCaptureStream feeds arbitrary bytes to the capture reader, the link
// layer decoders and the inspect pipeline: no panic, and every run ends in
// either a clean EOF or an error naming the input.
func FuzzCaptureStream(f *testing.F) {
	for _, lk := range linkKinds {
		// Small seeds keep the fuzzer's minimisation fast: a ping, a pong
		// from outside, a Kazaa GET.
		sc := scenario()
		frames := []frame{sc[2], sc[4], sc[6]}
		for _, write := range []func(layers.LinkType, func([]byte) []byte, []frame) ([]byte, int, error){pcapBytes, pcapngBytes} {
			b, _, err := write(lk.lt, lk.frame, frames)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("not a capture"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, jsonOut := range []bool{false, true} {
			a := newAuditor(DefaultLAN(), registry.Builtin(), jsonOut, bufio.NewWriter(io.Discard))
			err := a.stream(context.Background(), "fuzz.pcap", bytes.NewReader(b))
			if a.events > a.packets {
				t.Fatalf("%d events from %d packets", a.events, a.packets)
			}
			if err != nil && !bytes.HasPrefix([]byte(err.Error()), []byte("fuzz.pcap: ")) {
				t.Fatalf("error without the file name: %v", err)
			}
			if jsonOut {
				a.writeSummary()
			} else {
				a.writeReport(err)
			}
		}
	})
}

// FuzzLinkLayer checks the link-layer decoders on arbitrary frames.
func FuzzLinkLayer(f *testing.F) {
	for _, lk := range linkKinds {
		for _, fr := range scenario() {
			if data := lk.frame(fr.ip); data != nil {
				f.Add(uint16(lk.lt), data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, lt uint16, b []byte) {
		ip, err := ipPayload(layers.LinkType(lt), b)
		if err != nil {
			if ip != nil {
				t.Fatal("payload with an error")
			}
			return
		}
		if len(ip) > len(b) || (len(ip) > 0 && &ip[len(ip)-1] != &b[len(b)-1]) {
			t.Fatal("payload is not the tail of the frame")
		}
	})
}
