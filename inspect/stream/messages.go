package stream

import "bytes"

// MaxMessages bounds the message starts Messages returns for one stream.
const MaxMessages = 8

// Messages appends to dst the offsets in b where a message can start: the
// start of the stream and the byte after every blank line (a request's
// header end, "\r\n\r\n" or "\n\n"), each past any CR and LF (HTTP allows
// empty lines before a request), and after a first line that is a
// FastTrack-style push ("GIVE …\n", whose message is one line). At most
// MaxMessages; an offset at the end of b is left out.
func Messages(b []byte, dst []int) []int {
	at := skipEOL(b, 0)
	if at < len(b) {
		dst = append(dst, at)
	}
	if hasWord(b[at:], "GIVE ") {
		if line := lineEnd(b, at); line > 0 {
			if n := skipEOL(b, line); n < len(b) && len(dst) < MaxMessages {
				dst = append(dst, n)
			}
		}
	}
	// From line end to line end (bytes.IndexByte), not byte by byte: this
	// runs on every queued TCP segment.
	for i := at; len(dst) < MaxMessages; {
		k := bytes.IndexByte(b[i:], '\n')
		if k < 0 {
			break
		}
		i += k
		if i+1 >= len(b) {
			break
		}
		j := i + 1
		if b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			n := skipEOL(b, j+1)
			if n < len(b) && (len(dst) == 0 || dst[len(dst)-1] != n) {
				dst = append(dst, n)
			}
			i = n
			continue
		}
		i++
	}
	return dst
}

func skipEOL(b []byte, i int) int {
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// lineEnd returns the offset after the LF ending the line at i, 0 if none.
func lineEnd(b []byte, i int) int {
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return 0
}

func hasWord(b []byte, w string) bool { return len(b) >= len(w) && string(b[:len(w)]) == w }

// Complete reports whether the stream ends where a message ends, so that
// nothing in it waits for more bytes: after a blank line (an HTTP
// message's header end), after the line of a push ("GIVE …\n") that is
// the stream's last message, or with the window full.
func Complete(b []byte, window int) bool {
	n := len(b)
	switch {
	case n >= window:
		return true
	case n >= 2 && b[n-1] == '\n' && b[n-2] == '\n', n >= 3 && b[n-1] == '\n' && b[n-2] == '\r' && b[n-3] == '\n':
		return true
	case n >= 1 && b[n-1] == '\n':
		// The last line: a push line alone is a whole message.
		start := 0
		for i := n - 2; i >= 0; i-- {
			if b[i] == '\n' {
				start = i + 1
				break
			}
		}
		return hasWord(b[start:], "GIVE ")
	}
	return false
}
