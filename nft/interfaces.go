package nft

import (
	"bytes"
	"context"
	"slices"
)

// Interfaces are the LAN and WAN interface names the table holds
// (lan_ifs, wan_ifs): what the kernel's rules match, whatever the options
// of the command that reads them.
type Interfaces struct {
	LAN []string `json:"lan"`
	WAN []string `json:"wan"`
}

// readInterfaces reads the interface sets of the table.
func (k *Kernel) readInterfaces(ctx context.Context) (Interfaces, error) {
	var out Interfaces
	c, err := k.dial(ctx, true, 0, 0)
	if err != nil {
		return out, kernelError("connect to nftables", noNftables(err))
	}
	defer c.close()
	for _, x := range []struct {
		set string
		to  *[]string
	}{{SetLAN, &out.LAN}, {SetWAN, &out.WAN}} {
		s, err := c.GetSetByName(table(), x.set)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return out, kernelError("read set "+x.set, noNftables(err))
		}
		elems, err := c.GetSetElements(s)
		if err != nil {
			return out, kernelError("read set "+x.set, noNftables(err))
		}
		for _, e := range elems {
			name := string(bytes.TrimRight(e.Key, "\x00"))
			if name != "" {
				*x.to = append(*x.to, name)
			}
		}
		slices.Sort(*x.to)
	}
	return out, nil
}
