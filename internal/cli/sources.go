package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/ftwall/ftwall/nft"
)

// configPath returns the --config value: the command's own, else the one
// given before the command name (either may come from FTWALL_CONFIG).
func configPath(c *cli.Context) string {
	for _, ctx := range c.Lineage() {
		if ctx == nil || ctx.Command == nil && ctx.App == nil {
			continue
		}
		if ctx.IsSet(optConfig) {
			if p := ctx.String(optConfig); p != "" {
				return p
			}
		}
	}
	return ""
}

// loadConfig is the Before hook of a command that reads the configuration
// file: it checks the whole file (names and value types of every command's
// options, so a typo is found whichever command runs), applies the
// command's options that neither a flag nor the environment set, and
// records where each value came from.
func (inv *invocation) loadConfig(cmd command, fl []cli.Flag) cli.BeforeFunc {
	return func(c *cli.Context) error {
		inv.origins = map[string]string{}
		setBefore := make(map[string]bool, len(cmd.opts))
		for _, o := range cmd.opts {
			setBefore[o.name] = c.IsSet(o.name)
			if setBefore[o.name] && !inv.onCommandLine(o.name) {
				if _, ok := os.LookupEnv(envName(cmd.envPrefix, o.name)); ok {
					inv.origins[o.name] = envName(cmd.envPrefix, o.name)
				}
			}
		}
		path := configPath(c)
		if path == "" {
			return nil
		}
		cf, err := readConfigFile(path)
		if err != nil {
			return err
		}
		if err := inv.checkConfigFile(cf); err != nil {
			return err
		}
		vals, lines, err := cf.values(cmd.section, cmd.opts)
		if err != nil {
			return err
		}
		src := altsrc.NewMapInputSource(path, vals)
		if err := altsrc.ApplyInputSourceValues(c, src, fl); err != nil {
			return &configError{path: path, msg: err.Error()}
		}
		for name, line := range lines {
			if !setBefore[name] {
				inv.origins[name] = fmt.Sprintf("config file %s line %d", path, line)
			}
		}
		inv.configPath = path
		return nil
	}
}

// checkConfigFile checks every name in the file and the type of every
// value against the commands' options.
func (inv *invocation) checkConfigFile(cf *configFile) error {
	var top, sec []string
	for _, cmd := range inv.commands() {
		if !cmd.readConfig {
			continue
		}
		for _, o := range cmd.opts {
			if cmd.section == sectionInspect {
				sec = append(sec, o.name)
			} else {
				top = append(top, o.name)
			}
		}
	}
	if err := cf.check(top, sec); err != nil {
		return err
	}
	for _, cmd := range inv.commands() {
		if cmd.readConfig {
			if _, _, err := cf.values(cmd.section, cmd.opts); err != nil {
				return err
			}
		}
	}
	return nil
}

// onCommandLine reports whether option name was given as a flag (-name,
// --name, -name=…, --name=…).
func (inv *invocation) onCommandLine(name string) bool {
	for _, a := range inv.args[1:] {
		if a == "--" {
			return false
		}
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// origin describes where option name's value came from, for messages:
// "" for a flag or the default.
func (inv *invocation) origin(name string) string {
	if o := inv.origins[name]; o != "" {
		return " (from " + o + ")"
	}
	return ""
}

// badOption returns a usage error about option name's value, naming the
// environment variable or file line it came from.
func (inv *invocation) badOption(name, format string, args ...any) error {
	return usagef("--%s: %s%s", name, fmt.Sprintf(format, args...), inv.origin(name))
}

// optionErrors converts the *nft.OptionError values in err (possibly
// joined) into one usage error naming each option and its source.
func (inv *invocation) optionErrors(err error) error {
	if err == nil {
		return nil
	}
	var parts []string
	var collect func(error)
	collect = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				collect(e)
			}
			return
		}
		var oe *nft.OptionError
		if errors.As(err, &oe) {
			name := strings.TrimLeft(oe.Option, "-")
			parts = append(parts, fmt.Sprintf("%s: %v%s", oe.Option, oe.Err, inv.origin(name)))
			return
		}
		parts = append(parts, err.Error())
	}
	collect(err)
	return usagef("%s", strings.Join(parts, "; "))
}
