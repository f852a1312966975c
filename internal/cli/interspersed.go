package cli

import "strings"

// interspersed moves the options of the commands that take addresses or a
// set name (block, unblock, unlock, list) in front of their arguments, so
// that `ftwall list peers --json` works as well as `ftwall list --json
// peers` (urfave/cli stops reading options at the first argument). A `--`
// ends the options.
func (inv *invocation) interspersed(args []string) []string {
	// The command is the first argument that is not a global option.
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if !strings.Contains(args[i], "=") && optName(args[i]) == optConfig {
			i++ // its value
		}
		i++
	}
	if i >= len(args) {
		return args
	}
	var opts []option
	for _, c := range inv.commands() {
		if c.name == args[i] && c.argsUsage != "" && c.name != "inspect" {
			opts = append(c.opts, globalOptions()...)
		}
	}
	if opts == nil {
		return args
	}
	var flags, pos []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			pos = append(pos, rest[j+1:]...)
			j = len(rest)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			o, ok := findOption(opts, optName(a))
			if ok && o.kind != kindBool && !strings.Contains(a, "=") && j+1 < len(rest) {
				j++
				flags = append(flags, rest[j])
			}
		default:
			pos = append(pos, a)
		}
	}
	out := append(append([]string{}, args[:i+1]...), flags...)
	if len(pos) > 0 {
		out = append(append(out, "--"), pos...)
	}
	return out
}

// optName is the option name of a flag token ("--json", "-json=x").
func optName(tok string) string {
	name := strings.TrimLeft(tok, "-")
	name, _, _ = strings.Cut(name, "=")
	return name
}
