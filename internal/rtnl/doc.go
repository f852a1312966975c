// Package rtnl is ftwall's small rtnetlink client: it asks the kernel's
// neighbour table which link-layer address it holds for an address on an
// interface (one RTM_GETNEIGH get request, Linux 4.20 or later), asks the
// kernel to resolve an address (RTM_NEWNEIGH with NTF_USE: the kernel
// sends an ARP request or a neighbour solicitation), and watches address
// and link events (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK).
//
// A Neighbours belongs to one goroutine at a time (ftwall's control
// goroutine); nothing here runs on the packet path.
package rtnl
