package ftsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
)

// dialResult names the outcome of a TCP connect.
func dialResult(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ResultConnected
	case errors.Is(err, syscall.ECONNREFUSED):
		return ResultRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ResultTimeout
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ENETDOWN):
		return ResultUnreachable
	}
	return ResultError
}

// summarizeAttempts says how a list of failed attempts failed:
// "2 refused, 1 timeout".
func summarizeAttempts(atts []TCPAttempt) string {
	counts := map[string]int{}
	for _, a := range atts {
		counts[a.Result]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
	}
	return strings.Join(parts, ", ")
}

// Sizes of the clear start of a FastTrack TCP session (behaviour spec §3):
// the client sends 4 random bytes, a 4-byte seed and the 4-byte encoded
// encryption type; the server answers with 8 bytes.
const (
	sessionClientBytes = 12
	sessionServerBytes = 8
)

// sessionStart sends the client's 12 bytes and reads the node's 8; it
// reports whether they came before the deadline.
func sessionStart(conn net.Conn, deadline time.Time) bool {
	if err := conn.SetDeadline(deadline); err != nil {
		return false
	}
	var b [sessionClientBytes]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	if _, err := conn.Write(b[:]); err != nil {
		return false
	}
	var answer [sessionServerBytes]byte
	_, err := io.ReadFull(conn, answer[:])
	return err == nil
}

// sessionAnswer writes the node's 8-byte answer to a session start.
func sessionAnswer(w io.Writer) error {
	_, err := w.Write(randomBytes(sessionServerBytes))
	return err
}

// randomBytes stands for encrypted session bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// connEnd names how a read or write on an established connection failed.
func connEnd(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.EOF):
		return EndEOF
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return EndReset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return EndTimeout
	case errors.Is(err, net.ErrClosed):
		return EndStopped
	}
	return EndError
}
