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
// TCP sessions and serves HTTP downloads with X-Kazaa-* response headers.
//
// Both stop by themselves: every wait is bounded by a duration of the
// options, every list by a count. Their reports (ClientReport, NodeReport)
// say exactly what happened and encode to JSON for the ftsim command.
//
// Sockets are opened through a Net. System opens them in the namespace of the
// calling thread (the whole process under `ip netns exec`); InNamespace opens
// each socket through a runner such as a test lab's NS.Do, so a test can drive
// a client and a node in two namespaces from one process.
package ftsim
