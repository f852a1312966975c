package btlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"

	"github.com/ftwall/ftwall/internal/lab"
)

// Snap is how many bytes of each frame a Capture keeps (Packet.Payload
// and the pcap file are cut there; Packet.Len is the whole payload).
const Snap = 2048

// Packet is one TCP or UDP packet a Capture saw.
type Packet struct {
	Time     time.Time
	Outgoing bool   // sent by the capturing namespace out of the interface (router → LAN)
	Proto    string // "tcp" or "udp"
	Src, Dst netip.AddrPort
	Flags    uint8  // TCP flags (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10)
	Offset   int64  // TCP: where the payload starts in its direction of the stream (0: the first byte after the SYN), -1 when the SYN was not seen; UDP: 0
	Len      int    // payload length
	Payload  []byte // the payload, at most Snap bytes of the frame
	Kind     Kind   // Classify(p)
}

// TCP flags.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagACK = 0x10
)

func (p Packet) String() string {
	return fmt.Sprintf("%s %s > %s len %d %s", p.Proto, p.Src, p.Dst, p.Len, p.Kind)
}

// Capture records every frame crossing one interface of a namespace
// (AF_PACKET, both directions, before netfilter on the way in), in memory.
type Capture struct {
	Iface string
	Start time.Time

	fd   int
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	frames  []frame
	pkts    []Packet
	isn     map[[2]netip.AddrPort]uint32
	changed chan struct{}
}

type frame struct {
	t    time.Time
	data []byte
	n    int
}

// StartCapture starts capturing on iface of ns (e.g. the router's lan0,
// where everything the client sends arrives); t's cleanup stops it and,
// when the environment variable BTLAB_PCAP_DIR is set, writes the frames
// to <dir>/<test name>-<iface>.pcap.
func StartCapture(t T, ns *lab.NS, iface string) *Capture {
	t.Helper()
	c := &Capture{Iface: iface, stop: make(chan struct{}), done: make(chan struct{}),
		isn: map[[2]netip.AddrPort]uint32{}, changed: make(chan struct{})}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_ALL))
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
		tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(fd)
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind AF_PACKET socket to %s: %w", iface, err)
		}
		c.fd = fd
		return nil
	})
	if err != nil {
		t.Fatalf("capture on %s in %s: %v", iface, ns.Name, err)
	}
	c.Start = time.Now()
	go c.loop()
	t.Cleanup(func() {
		c.Close()
		if dir := os.Getenv("BTLAB_PCAP_DIR"); dir != "" {
			path := fmt.Sprintf("%s/%s-%s.pcap", dir, lab.PrefixFrom(t.Name()), iface)
			if err := c.WritePcap(path); err != nil {
				t.Errorf("capture: %v", err)
			} else {
				t.Logf("capture: wrote %s", path)
			}
		}
	})
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (c *Capture) loop() {
	defer close(c.done)
	buf := make([]byte, 1<<16+64)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		n, from, err := unix.Recvfrom(c.fd, buf, unix.MSG_TRUNC)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		now := time.Now()
		kept := min(n, len(buf), Snap)
		data := slices.Clone(buf[:kept])
		outgoing := false
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			outgoing = true
		}
		c.add(frame{t: now, data: data, n: n}, outgoing)
	}
}

func (c *Capture) add(f frame, outgoing bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = append(c.frames, f)
	p, seq, ok := parseFrame(f.data, f.n)
	if !ok {
		return
	}
	p.Time, p.Outgoing = f.t, outgoing
	if p.Proto == "tcp" {
		key := [2]netip.AddrPort{p.Src, p.Dst}
		isn, known := c.isn[key]
		switch {
		case p.Flags&FlagSYN != 0:
			c.isn[key] = seq
			p.Offset = -1
		case known:
			p.Offset = int64(seq - isn - 1)
		default:
			p.Offset = -1
		}
	}
	p.Kind = Classify(p)
	c.pkts = append(c.pkts, p)
	close(c.changed)
	c.changed = make(chan struct{})
}

// Close stops the capture (idempotent); the packets stay readable.
func (c *Capture) Close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	c.mu.Lock()
	if c.fd > 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
	c.mu.Unlock()
}

// Packets returns the TCP and UDP packets captured so far, in order.
func (c *Capture) Packets() []Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.pkts)
}

// Wait returns the first packet (already captured or still to come) for
// which match is true, waiting at most limit.
func (c *Capture) Wait(ctx context.Context, limit time.Duration, match func(Packet) bool) (Packet, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	seen := 0
	for {
		c.mu.Lock()
		for ; seen < len(c.pkts); seen++ {
			if match(c.pkts[seen]) {
				p := c.pkts[seen]
				c.mu.Unlock()
				return p, nil
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return Packet{}, fmt.Errorf("no such packet on %s within %v", c.Iface, limit)
		case <-ch:
		}
	}
}

// FromBT matches packets sent by any of src whose Kind IsBitTorrent.
func FromBT(src ...netip.Addr) func(Packet) bool {
	return func(p Packet) bool { return slices.Contains(src, p.Src.Addr()) && p.Kind.IsBitTorrent() }
}

// WaitBitTorrent returns the first BitTorrent packet (Kind.IsBitTorrent)
// sent by any of src (a client's addresses), waiting at most limit: when a
// client's first BitTorrent packet left it.
func (c *Capture) WaitBitTorrent(ctx context.Context, limit time.Duration, src ...netip.Addr) (Packet, error) {
	return c.Wait(ctx, limit, FromBT(src...))
}

// PlainHandshake reports whether the payload (TCP, or uTP data) holds the
// plaintext peer-wire handshake header 0x13"BitTorrent protocol".
func (p Packet) PlainHandshake() bool { return bytes.Contains(p.Payload, btProtocol) }

// WritePcap writes every frame captured so far to a pcap file.
func (c *Capture) WritePcap(path string) error {
	c.mu.Lock()
	frames := slices.Clone(c.frames)
	c.mu.Unlock()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(Snap, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return err
	}
	for _, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: fr.t, CaptureLength: len(fr.data), Length: fr.n}
		if err := w.WritePacket(ci, fr.data); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
