package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxConfigSize bounds the configuration file; a real one is a few
// kilobytes.
const maxConfigSize = 1 << 20

// sectionInspect is the mapping in the configuration file that holds the
// options of `ftwall inspect` (its --lan takes prefixes, not interfaces).
const sectionInspect = "inspect"

// configFile is a parsed YAML configuration file: a mapping from option
// names to values, plus an optional "inspect:" mapping.
type configFile struct {
	path     string
	top      map[string]configEntry
	sections map[string]map[string]configEntry
}

// configEntry is one "name: value" of the file.
type configEntry struct {
	line  int // line of the key
	value *yaml.Node
}

// configError is a problem in the configuration file, reported with the
// file name and the line.
type configError struct {
	path string
	line int // 0 = the whole file
	msg  string
}

func (e *configError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("config file %s line %d: %s", e.path, e.line, e.msg)
	}
	return fmt.Sprintf("config file %s: %s", e.path, e.msg)
}

// readConfigFile reads and parses the file at path.
func readConfigFile(path string) (*configFile, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &configError{path: path, msg: fmt.Sprintf("cannot open: %v", err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &configError{path: path, msg: fmt.Sprintf("cannot read: %v", err)}
	}
	if st.IsDir() {
		return nil, &configError{path: path, msg: "is a directory, not a YAML file"}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, &configError{path: path, msg: fmt.Sprintf("cannot read: %v", err)}
	}
	if len(data) > maxConfigSize {
		return nil, &configError{path: path, msg: fmt.Sprintf("larger than %d bytes; is this the right file?", maxConfigSize)}
	}
	return parseConfig(path, data)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseConfig parses the YAML text of the configuration file. It checks
// the syntax and the shape (a mapping of names to values, no duplicate
// names); the names and values are checked by check and values.
func parseConfig(path string, data []byte) (*configFile, error) {
	cf := &configFile{path: path, top: map[string]configEntry{}, sections: map[string]map[string]configEntry{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &configError{path: path, line: line, msg: "invalid YAML: " + m[2]}
		}
		return nil, &configError{path: path, msg: "invalid YAML: " + msg}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return cf, nil // empty file: no options
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cf, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, &configError{path: path, line: root.Line, msg: "expected option names with values (name: value), found " + nodeKind(root)}
	}
	if err := cf.mapping(root, cf.top, true); err != nil {
		return nil, err
	}
	return cf, nil
}

// mapping reads the key/value pairs of node into into; sections (only at
// the top level) are read into cf.sections.
func (cf *configFile) mapping(node *yaml.Node, into map[string]configEntry, top bool) error {
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], resolveAlias(node.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			return &configError{path: cf.path, line: k.Line, msg: "option names must be plain words such as peer-timeout"}
		}
		if prev, dup := into[k.Value]; dup {
			return &configError{path: cf.path, line: k.Line, msg: fmt.Sprintf("option %q appears twice (first on line %d)", k.Value, prev.line)}
		}
		if top && k.Value == sectionInspect {
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				into[k.Value] = configEntry{line: k.Line, value: v}
				cf.sections[k.Value] = map[string]configEntry{}
				continue
			}
			if v.Kind != yaml.MappingNode {
				return &configError{path: cf.path, line: k.Line, msg: fmt.Sprintf("%q must hold the options of ftwall inspect (name: value lines), found %s", k.Value, nodeKind(v))}
			}
			sec := map[string]configEntry{}
			if err := cf.mapping(v, sec, false); err != nil {
				return err
			}
			into[k.Value] = configEntry{line: k.Line, value: v}
			cf.sections[k.Value] = sec
			continue
		}
		if top && k.Value == sectionShare {
			if err := cf.shareMapping(k, v, into); err != nil {
				return err
			}
			continue
		}
		into[k.Value] = configEntry{line: k.Line, value: v}
	}
	return nil
}

// sectionShare is the configuration file's mapping of the share options:
//
//	share:
//	  urls: [nats://192.0.2.10:4222, nats://192.0.2.11:4222]
//	  mode: peers
//	  creds: /etc/ftwall/gw-a.creds
//	  tls: {ca: /etc/ftwall/nats-ca.pem}
//	  buckets: {peers: ftwall-peers, locks: ftwall-locks}
//
// Its keys are the --share-* options without "share-" (url or urls), with
// tls: and buckets: as mappings of their own; "share-url: …" and the like
// at the top level work too.
const sectionShare = "share"

// shareMapping reads the share: mapping into the top-level entries as
// share-* options.
func (cf *configFile) shareMapping(k, v *yaml.Node, into map[string]configEntry) error {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return &configError{path: cf.path, line: k.Line, msg: fmt.Sprintf("%q must hold the share options (urls, mode, name, user, password, token, nkey, creds, tls, buckets, replicas, backlog), found %s", k.Value, nodeKind(v))}
	}
	put := func(key *yaml.Node, name string, val *yaml.Node) error {
		if prev, dup := into[name]; dup {
			return &configError{path: cf.path, line: key.Line, msg: fmt.Sprintf("option %q appears twice (first on line %d)", name, prev.line)}
		}
		into[name] = configEntry{line: key.Line, value: val}
		return nil
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		sk, sv := v.Content[i], resolveAlias(v.Content[i+1])
		if sk.Kind != yaml.ScalarNode || sk.Tag == "!!merge" {
			return &configError{path: cf.path, line: sk.Line, msg: "share option names must be plain words such as urls or mode"}
		}
		sub := map[string]string{"tls": "share-tls-%s", "buckets": "share-%s-bucket"}
		if pattern, ok := sub[sk.Value]; ok {
			if sv.Kind != yaml.MappingNode {
				return &configError{path: cf.path, line: sk.Line, msg: fmt.Sprintf("share: %q must be a mapping, found %s", sk.Value, nodeKind(sv))}
			}
			for j := 0; j+1 < len(sv.Content); j += 2 {
				tk := sv.Content[j]
				if tk.Kind != yaml.ScalarNode {
					return &configError{path: cf.path, line: tk.Line, msg: "share option names must be plain words"}
				}
				if err := put(tk, fmt.Sprintf(pattern, tk.Value), resolveAlias(sv.Content[j+1])); err != nil {
					return err
				}
			}
			continue
		}
		name := "share-" + sk.Value
		if sk.Value == "urls" {
			name = optShareURL
		}
		if err := put(sk, name, sv); err != nil {
			return err
		}
	}
	return nil
}

// resolveAlias follows YAML aliases (*name) to the anchored node.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unsupported YAML node"
}

// check reports the first name in the file that is no option of any
// command. topNames are the options valid at the top level, sectionNames
// those valid in the inspect section.
func (cf *configFile) check(topNames, sectionNames []string) error {
	if err := cf.checkNames(cf.top, append(slices.Clone(topNames), sectionInspect), ""); err != nil {
		return err
	}
	if sec, ok := cf.sections[sectionInspect]; ok {
		return cf.checkNames(sec, sectionNames, sectionInspect+": ")
	}
	return nil
}

func (cf *configFile) checkNames(entries map[string]configEntry, known []string, where string) error {
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	// Report the first unknown name in file order.
	slices.SortFunc(names, func(a, b string) int { return entries[a].line - entries[b].line })
	for _, n := range names {
		if slices.Contains(known, n) {
			continue
		}
		msg := fmt.Sprintf("unknown option %s%q", where, n)
		if s := suggest(n, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return &configError{path: cf.path, line: entries[n].line, msg: msg}
	}
	return nil
}

// suggest returns the known name closest to name, or "" when none is
// close: the names differ by at most two single-character edits, or one
// is a prefix of the other.
func suggest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		d := editDistance(strings.ToLower(name), k)
		if d < bestD || (strings.HasPrefix(k, name) && len(name) >= 3 && bestD > 2) {
			best, bestD = k, min(d, 2)
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (bounded inputs:
// option names).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt / 2
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// entries returns the file's entries for a command: the top level, or a
// section.
func (cf *configFile) entries(section string) map[string]configEntry {
	if section == "" {
		return cf.top
	}
	return cf.sections[section]
}

// values converts the entries of section that are options in opts into the
// typed values altsrc expects (string, bool, time.Duration, uint, int,
// []interface{} of strings), checking each against its option's type.
// lines maps each option found to its line.
func (cf *configFile) values(section string, opts []option) (vals map[any]any, lines map[string]int, err error) {
	vals = map[any]any{}
	lines = map[string]int{}
	for name, e := range cf.entries(section) {
		o, ok := findOption(opts, name)
		if !ok {
			continue // an option of another command
		}
		v, err := typedValue(o, e.value)
		if err != nil {
			return nil, nil, &configError{path: cf.path, line: e.line, msg: fmt.Sprintf("%s: %v", name, err)}
		}
		vals[name] = v
		lines[name] = e.line
	}
	return vals, lines, nil
}

// typedValue checks n against o's type and returns the value for altsrc.
func typedValue(o option, n *yaml.Node) (any, error) {
	n = resolveAlias(n)
	null := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	if o.kind == kindList {
		var items []any
		switch {
		case null:
		case n.Kind == yaml.ScalarNode:
			items = appendSplit(items, n.Value)
		case n.Kind == yaml.SequenceNode:
			for _, c := range n.Content {
				c = resolveAlias(c)
				if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
					return nil, fmt.Errorf("list items must be single values, found %s", nodeKind(c))
				}
				items = appendSplit(items, c.Value)
			}
		default:
			return nil, fmt.Errorf("expected %s, found %s", o.kind.describe(), nodeKind(n))
		}
		if items == nil {
			items = []any{}
		}
		return items, nil
	}
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("expected %s, found %s", o.kind.describe(), nodeKind(n))
	}
	if null {
		if o.kind == kindString {
			return "", nil
		}
		return nil, fmt.Errorf("no value (expected %s)", o.kind.describe())
	}
	s := n.Value
	switch o.kind {
	case kindBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	case kindDuration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not %s", s, o.kind.describe())
		}
		return d, nil
	case kindUint:
		u, err := strconv.ParseUint(s, 0, 64)
		if err != nil || u > math.MaxUint {
			return nil, fmt.Errorf("%q is not %s", s, o.kind.describe())
		}
		return uint(u), nil
	case kindInt:
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil || i > math.MaxInt || i < math.MinInt {
			return nil, fmt.Errorf("%q is not %s", s, o.kind.describe())
		}
		return int(i), nil
	}
	return s, nil
}

// appendSplit appends the comma-separated, trimmed, non-empty parts of s,
// the way list flags and FTWALL_* variables are split.
func appendSplit(items []any, s string) []any {
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			items = append(items, p)
		}
	}
	return items
}
