package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/nft"
)

func (inv *invocation) teardown(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	if err := inv.requireCapabilities("changing the firewall", capNetAdmin); err != nil {
		return err
	}
	if svc := inv.service(c); svc.running {
		return ownerRefusal(svc, "teardown", "stop it first (systemctl stop ftwall; it keeps the table at exit unless --teardown-on-exit), then run ftwall teardown")
	}
	var removed bool
	err := inv.withFirewall(func(fw nft.Firewall) error {
		var err error
		removed, err = fw.Teardown(c.Context)
		if err != nil {
			return fmt.Errorf("remove %s: %w", tableName, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if removed {
		return writeLine(inv.env.stdout, "removed "+tableName)
	}
	return writeLine(inv.env.stdout, tableName+" is not present; nothing to do")
}
