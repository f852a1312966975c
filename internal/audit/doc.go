// Package audit implements `ftwall inspect --pcap FILE…`: it reads pcap and
// pcapng capture files (plain or gzip-compressed, with gopacket's pure-Go
// pcapgo reader) and runs every IP packet through the same
// inspect.Decode → inspect.Classify → inspect.Decide code the live service
// uses, treating packets whose source lies in the LAN prefixes as coming
// from the LAN side. It prints a per-client report, or one JSON object per
// evidence event followed by a summary line.
//
// Link types: Ethernet (with 802.1Q/802.1ad VLAN tags), Linux cooked
// capture v1 and v2, raw IPv4/IPv6. Records cut by the snap length are
// classified on what they hold. A damaged or unsupported file stops the
// run with an error naming the file and the record; the results up to
// that record are printed first.
package audit
