// Package demo is `make demo`: it builds a throw-away namespace lab (client,
// client2, router, internet; see internal/lab), runs `ftwall run` on the
// router, plays a simulated Kazaa client (UDP ping flood, TCP modes, an HTTP
// download with UDP switched off) and ordinary traffic (HTTP downloads,
// DNS-like UDP), and tells a newcomer in a few lines what the client tried,
// what got through, what ftwall learned (`nft list set inet ftwall …`) and
// the rule counters (`ftwall status`). Then it removes everything.
//
// Run returns a Result whose checks say whether FastTrack was blocked and
// ordinary traffic was not; it returns an error only when the demo could not
// run at all (not root, no lab, ftwall not starting, interrupted). Nothing
// outside the lab's own network namespaces is touched, and all traffic stays
// on the lab's private and documentation addresses.
package demo
