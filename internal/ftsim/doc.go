// Package ftsim simulates FastTrack (Kazaa) traffic for ftwall's end-to-end
// tests and its demo.
//
// A Client behaves like a Kazaa 2.x client joining the network: a burst of
// UDP node pings (0x27) to its cached nodes, a TCP session to every node that
// invited it with a supernode pong (0x28), and, when it concludes that UDP is
// blocked, parallel TCP connects to all nodes followed by one connect at a
// time. It answers FastTrack pings on its UDP port (the firewall's time-lock
// probes), performs HTTP downloads with X-Kazaa-* headers and GIVE pushes.
// A Node answers pings with pongs from the address that was pinged, accepts
// TCP sessions (the 8-byte answer to the 12-byte start, then its network
// name, then a quiet open session until its I/O timeout) and serves HTTP
// downloads with X-Kazaa-* response headers.
//
// A Gift is the profile of the genuine giFT 0.11.9 + giFT-FastTrack 0.8.9
// client, as measured (behaviour spec §5): TCP connects to its first 5
// cached nodes before pings to the next 10, sessions of 12/8/6/6/21 bytes
// that then stay open and quiet, no pings while a session is up, pongs
// (0x28 and 0x29 alike) moving their node to the front of the cache, a ping
// without a pong stalling discovery for 20 s, each failed session removing
// its node, an empty cache reloaded from a fallback list in a loop that
// connects as fast as the connects fail, probes never answered, and a TCP
// listener on its UDP port serving GET and GIVE.
//
// All stop by themselves: every wait is bounded by a duration of the
// options, every list by a count. Their reports (ClientReport, NodeReport,
// GiftReport) say exactly what happened and encode to JSON for the ftsim
// command.
//
// Sockets are opened through a Net. System opens them in the namespace of the
// calling thread (the whole process under `ip netns exec`); InNamespace opens
// each socket through a runner such as a test lab's NS.Do, so a test can drive
// a client and a node in two namespaces from one process.
package ftsim
