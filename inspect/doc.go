// Package inspect recognises FastTrack (Kazaa, iMesh, Grokster …) traffic in
// single IP packets and decides what a gateway does about it.
//
// It is pure: bytes in, evidence and decisions out, no I/O, and no heap
// allocation in the steady state, so the live service (NFQUEUE) and the
// offline capture audit run exactly the same code:
//
//	var p inspect.Packet
//	var ev inspect.Evidence
//	var d inspect.Decision
//	if err := inspect.Decode(raw, &p); err != nil { … }    // IPv4/IPv6, extension headers, fragments
//	if inspect.Classify(&p, &ev) {                         // FastTrack UDP messages and HTTP transfers
//		inspect.Decide(&ev, fromLAN, &settings, &d)      // verdict, peers to block, client to lock, spoofed pong
//	}
//
// Slices in Packet and Evidence alias the input buffer; copy them before the
// buffer is reused. Decision.Reply.Payload aliases storage inside the
// Decision itself.
//
// wire.go holds the encoders for the FastTrack UDP messages ftwall sends
// (spoofed pongs, time-lock probes); the classifier accepts what they build.
package inspect
