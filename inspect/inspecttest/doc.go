// Package inspecttest builds raw IPv4/IPv6 packets and FastTrack payloads
// for tests: the byte fixtures the inspect tests, the capture-audit tests
// and service tests share. Everything it builds follows the layouts in
// docs/ftwall-behaviour.md; checksums are filled in so the packets also
// look right in Wireshark.
package inspecttest
