package nft

import (
	"fmt"
	"strings"
)

// Rule comments use the userdata TLV format of libnftnl, so `nft list` shows
// them: one byte type (0 = comment), one byte length, the NUL-terminated text.
const (
	udataTypeComment = 0
	maxCommentLen    = 254 // the TLV length is one byte and counts the NUL
	// maxElemCommentLen is the longest element comment this kernel keeps
	// (measured: 252 bytes fail with EINVAL, 253 are accepted and dropped).
	maxElemCommentLen = 251
	fingerprintTag    = " [ftwall "
)

// ruleComment is the comment of one of ftwall's rules:
// "<id>: <description> [ftwall <fingerprint>]".
type ruleComment struct {
	ID          string
	Description string
	Fingerprint string
}

func (c ruleComment) String() string {
	return c.ID + ": " + c.Description + fingerprintTag + c.Fingerprint + "]"
}

// commentUserData encodes text as rule userdata.
func commentUserData(text string) ([]byte, error) {
	if len(text) > maxCommentLen {
		return nil, fmt.Errorf("rule comment is %d bytes long, at most %d fit", len(text), maxCommentLen)
	}
	if strings.IndexByte(text, 0) >= 0 {
		return nil, fmt.Errorf("rule comment %q contains a NUL byte", text)
	}
	b := make([]byte, 0, len(text)+3)
	b = append(b, udataTypeComment, byte(len(text)+1))
	b = append(b, text...)
	return append(b, 0), nil
}

// commentFromUserData extracts the comment TLV from rule userdata; ok is false
// when there is none. It never panics on malformed input.
func commentFromUserData(udata []byte) (text string, ok bool) {
	for len(udata) >= 2 {
		typ, n := udata[0], int(udata[1])
		if len(udata) < 2+n {
			return "", false
		}
		if typ == udataTypeComment {
			v := udata[2 : 2+n]
			if i := strings.IndexByte(string(v), 0); i >= 0 {
				v = v[:i]
			}
			return string(v), true
		}
		udata = udata[2+n:]
	}
	return "", false
}

// parseRuleComment splits a comment written by ruleComment.String; ok is false
// for any other text.
func parseRuleComment(text string) (c ruleComment, ok bool) {
	id, rest, found := strings.Cut(text, ": ")
	if !found || id == "" || strings.ContainsAny(id, " []") {
		return ruleComment{}, false
	}
	i := strings.LastIndex(rest, fingerprintTag)
	if i < 0 || !strings.HasSuffix(rest, "]") {
		return ruleComment{}, false
	}
	fp := rest[i+len(fingerprintTag) : len(rest)-1]
	if fp == "" || strings.ContainsAny(fp, " []") {
		return ruleComment{}, false
	}
	return ruleComment{ID: id, Description: rest[:i], Fingerprint: fp}, true
}
