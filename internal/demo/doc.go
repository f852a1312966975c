// Package demo is `make demo`: it builds a throw-away namespace lab (client,
// client2, router, internet; see internal/lab), runs `ftwall run` on the
// router, plays a simulated Kazaa client (UDP ping flood, TCP modes, an HTTP
// download with UDP switched off) and ordinary traffic (HTTP downloads,
// DNS-like UDP), and tells a newcomer in a few lines what the client tried,
// what got through, what ftwall learned (`nft list set inet ftwall …`) and
// the rule counters (`ftwall status`). Then, in a fresh `ftwall run
// --reset`, a real BitTorrent client (aria2c, else qbittorrent-nox) fetches
// a file from opentracker, a lab DHT and a qBittorrent seeder through the
// real-client rig internal/btlab (bittorrent.go; btt.go is the btlab.T the
// rig needs outside a test): its first BitTorrent packet, the lock, the
// blocked peer, the verified bytes that reached it (none) and the
// neighbour's ordinary traffic. That scene is skipped, with a message,
// when the BitTorrent programs are not installed. Then it removes
// everything.
//
// Run returns a Result whose checks say whether FastTrack and BitTorrent
// were blocked and ordinary traffic was not; it returns an error only when
// the demo could not run at all (not root, no lab, ftwall or the BitTorrent
// lab not starting, interrupted). Nothing outside the lab's own network
// namespaces and temporary directories is touched, and all traffic stays
// on the lab's private and documentation addresses.
package demo
