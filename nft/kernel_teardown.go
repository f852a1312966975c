package nft

import (
	"context"
	"fmt"
)

// Teardown deletes table inet ftwall, with its chains, rules and sets, and
// nothing else. removed is false when the table did not exist.
func (k *Kernel) Teardown(ctx context.Context) (removed bool, err error) {
	k.writeM.Lock()
	defer k.writeM.Unlock()
	present, err := k.tablePresent(ctx)
	if err != nil || !present {
		return false, err
	}
	c, err := k.dial(ctx, false, 0, 0)
	if err != nil {
		return false, kernelError("connect to nftables", noNftables(err))
	}
	defer c.close()
	c.DelTable(table())
	if err := c.Flush(); err != nil {
		if isNotFound(err) { // removed by someone else meanwhile
			return false, nil
		}
		return false, kernelError(fmt.Sprintf("delete table inet %s", TableName), err)
	}
	k.log.Info("table deleted", "table", "inet "+TableName)
	return true, nil
}
