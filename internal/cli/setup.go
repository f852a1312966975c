package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/nft"
)

// tableName is how messages name ftwall's table.
const tableName = "table inet " + nft.TableName

// setupReport is setup's JSON output.
type setupReport struct {
	Table string `json:"table"`
	// Result is "created", "updated" or "unchanged".
	Result  string `json:"result"`
	Backend string `json:"backend"`
	// ElementsKept counts the peer and lock elements in the table after an
	// update (-1 when they could not be counted).
	ElementsKept int      `json:"elements_kept"`
	Reset        bool     `json:"reset"`
	Warnings     []string `json:"warnings"`
}

// checkReport is the JSON output of setup --check and run --check.
type checkReport struct {
	Valid      bool           `json:"valid"`
	ConfigFile string         `json:"config_file"`
	Warnings   []string       `json:"warnings"`
	Options    []checkedValue `json:"options"`
}

// checkedValue is one option's effective value and where it came from.
type checkedValue struct {
	Name   string `json:"name"`
	Value  any    `json:"value"`
	Source string `json:"source"` // "flag or default", "FTWALL_…", "config file … line …"
}

func (inv *invocation) setup(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	cfg, err := inv.rulesetConfig(c)
	if err != nil {
		return err
	}
	if err := inv.checkInterfaces(c, cfg); err != nil {
		return err
	}
	warns := inv.interfaceWarnings(cfg)
	if c.Bool(optCheck) {
		return inv.printCheck(c, setupOptions(), warns)
	}
	if err := inv.requireCapabilities("changing the firewall", capNetAdmin); err != nil {
		return err
	}
	reset := c.Bool(optReset)
	if svc := inv.service(c); svc.running {
		// One owner of the table: the same options change nothing; other
		// options, or a reset, are the service's to apply (SIGHUP).
		if reset || !sameRuleset(cfg, svc.info) {
			return ownerRefusal(svc, "setup with other options than its own (or --reset)",
				"put the options in its configuration and reload it (systemctl reload ftwall), or stop it first (systemctl stop ftwall)")
		}
		rep := setupReport{Table: "inet " + nft.TableName, Result: "unchanged", Backend: svc.info.Backend, ElementsKept: -1, Warnings: warns}
		if rep.Warnings == nil {
			rep.Warnings = []string{}
		}
		if c.Bool(optJSON) {
			return writeJSON(inv.env.stdout, rep)
		}
		return writeLine(inv.env.stdout, fmt.Sprintf("%s unchanged: ftwall run (pid %d) applied the same options (queue backend: %s)", tableName, svc.pid, svc.info.Backend))
	}
	var rep setupReport
	err = inv.withFirewall(func(fw nft.Firewall) error {
		res, err := fw.Setup(c.Context, cfg, nft.SetupOptions{Reset: reset})
		if err != nil {
			return fmt.Errorf("apply %s: %w", tableName, err)
		}
		rep = setupReport{Table: "inet " + nft.TableName, Backend: res.Backend.String(), Reset: reset, Warnings: warns, ElementsKept: -1}
		switch {
		case res.Created:
			rep.Result = "created"
		case res.Changed:
			rep.Result = "updated"
		default:
			rep.Result = "unchanged"
		}
		if !res.Created {
			rep.ElementsKept = countElements(c.Context, fw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	if c.Bool(optJSON) {
		return writeJSON(inv.env.stdout, rep)
	}
	return writeLine(inv.env.stdout, setupMessage(rep))
}

// setupMessage is setup's human output.
func setupMessage(r setupReport) string {
	backend := fmt.Sprintf("(queue backend: %s)", r.Backend)
	switch r.Result {
	case "created":
		return fmt.Sprintf("created %s %s", tableName, backend)
	case "unchanged":
		return fmt.Sprintf("%s unchanged %s", tableName, backend)
	}
	var kept string
	switch {
	case r.Reset:
		kept = ", peer and lock sets emptied"
	case r.ElementsKept >= 0:
		kept = fmt.Sprintf(", %d elements kept", r.ElementsKept)
	}
	return fmt.Sprintf("updated %s%s %s", tableName, kept, backend)
}

// countElements counts the peer and lock elements in the table, -1 when
// the table cannot be read.
func countElements(ctx context.Context, fw nft.Firewall) int {
	st, err := fw.Status(ctx, 0)
	if err != nil || st == nil {
		return -1
	}
	n := 0
	for _, s := range st.Sets {
		switch s.Name {
		case nft.SetPeers4, nft.SetPeers6, nft.SetLocked4, nft.SetLocked6:
			n += s.Count
		}
	}
	return n
}

// interfaceWarnings checks that the LAN and WAN interfaces exist and prints
// a warning on stderr for each that does not (with
// --allow-missing-interfaces; checkInterfaces refused them before).
func (inv *invocation) interfaceWarnings(cfg nft.Config) []string {
	warns, err := inv.missingInterfaces(cfg)
	if err != nil {
		warns = []string{fmt.Sprintf("cannot check whether the interfaces exist: %v", err)}
	}
	for _, w := range warns {
		fmt.Fprintf(inv.env.stderr, "ftwall: warning: %s\n", w)
	}
	if warns == nil {
		warns = []string{}
	}
	return warns
}

// checkInterfaces refuses LAN and WAN interfaces that do not exist, unless
// --allow-missing-interfaces: a typo in lan: would leave the firewall
// protecting nothing. A reload (SIGHUP) runs it too, so it is refused.
func (inv *invocation) checkInterfaces(c *cli.Context, cfg nft.Config) error {
	if c.Bool(optAllowMissing) {
		return nil
	}
	missing, err := inv.absentInterfaces(cfg)
	if err != nil || len(missing) == 0 {
		return nil // an error is reported as a warning by interfaceWarnings
	}
	m := missing[0]
	return inv.badOption(m.opt, "interface %q does not exist; fix the name, or give --%s for one that appears later (PPP, hot-plug)", m.name, optAllowMissing)
}

// printCheck prints the result of --check: the effective value of every
// option and where it came from.
func (inv *invocation) printCheck(c *cli.Context, opts []option, warns []string) error {
	rep := checkReport{Valid: true, ConfigFile: inv.configPath, Warnings: warns}
	for _, o := range opts {
		if o.name == optCheck || o.name == optJSON {
			continue
		}
		src := inv.origins[o.name]
		if src == "" {
			src = "default"
			if c.IsSet(o.name) {
				src = "flag"
			}
		}
		rep.Options = append(rep.Options, checkedValue{Name: o.name, Value: optionValue(c, o), Source: src})
	}
	if c.Bool(optJSON) {
		return writeJSON(inv.env.stdout, rep)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "configuration is valid (nothing was changed)\n")
	if rep.ConfigFile != "" {
		fmt.Fprintf(&b, "config file: %s\n", rep.ConfigFile)
	}
	tw := newTable(&b)
	for _, v := range rep.Options {
		fmt.Fprintf(tw, "  --%s\t%s\t(%s)\n", v.Name, humanValue(v.Value), v.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(inv.env.stdout, b.String())
	return err
}

// optionValue is o's effective value in JSON-friendly form (durations as
// strings such as "24h0m0s").
func optionValue(c *cli.Context, o option) any {
	switch o.kind {
	case kindList:
		v := listValue(c, o.name)
		if v == nil {
			v = []string{}
		}
		return v
	case kindBool:
		return c.Bool(o.name)
	case kindDuration:
		return c.Duration(o.name).String()
	case kindUint:
		return c.Uint(o.name)
	case kindInt:
		return c.Int(o.name)
	}
	return c.String(o.name)
}

func humanValue(v any) string {
	switch v := v.(type) {
	case []string:
		if len(v) == 0 {
			return "(none)"
		}
		return strings.Join(v, ", ")
	case string:
		if v == "" {
			return `""`
		}
		return v
	}
	return fmt.Sprint(v)
}

// withFirewall opens the kernel firewall, runs fn and closes it.
func (inv *invocation) withFirewall(fn func(nft.Firewall) error) (err error) {
	fw, err := inv.env.openFirewall()
	if err != nil {
		return fmt.Errorf("connect to nftables: %w", err)
	}
	defer func() {
		if cerr := fw.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the nftables connection: %w", cerr)
		}
	}()
	return fn(fw)
}

// noArgs rejects positional arguments of commands that take none.
func noArgs(c *cli.Context) error {
	if c.Args().Present() {
		return usagef("unexpected argument %q: %s takes options only (see ftwall %s --help)", c.Args().First(), c.Command.Name, c.Command.Name)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func writeLine(w io.Writer, s string) error {
	if _, err := io.WriteString(w, s+"\n"); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
