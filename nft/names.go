package nft

// TableName is the name of ftwall's own table; its family is inet, so one
// table serves IPv4 and IPv6.
const TableName = "ftwall"

// Names of the table's sets.
const (
	// SetPeers4 and SetPeers6 hold blocked public peers (type ipv4_addr /
	// ipv6_addr, flag timeout, default element timeout Config.PeerTimeout).
	SetPeers4 = "peers4"
	SetPeers6 = "peers6"
	// SetLocked4 and SetLocked6 hold time-locked LAN clients (flag timeout,
	// default element timeout Config.TimeLock).
	SetLocked4 = "locked4"
	SetLocked6 = "locked6"
	// SetAllow4 and SetAllow6 are interval sets built from Config.Allow:
	// addresses ftwall never blocks, locks or learns.
	SetAllow4 = "allow4"
	SetAllow6 = "allow6"
	// SetLAN holds the names of the LAN interfaces (Config.LAN) and SetWAN
	// those of the WAN interfaces (Config.WAN; empty means every interface
	// that is not LAN).
	SetLAN = "lan_ifs"
	SetWAN = "wan_ifs"
)

// Names of the table's base chains.
const (
	// ChainForward is on the forward hook, just before the filter priority.
	ChainForward = "forward"
	// ChainInput is on the input hook; it exists only while the time-lock is
	// on (Config.TimeLock > 0).
	ChainInput = "input"
	// ChainFromLAN is a regular chain: the forward chain sends every packet
	// that arrives on a LAN interface there (goto), so the LAN rules need no
	// interface match of their own and WAN packets never walk them.
	ChainFromLAN = "from_lan"
)

// ChainPriority is the priority of both base chains: just before the usual
// filter priority (0), so ftwall's verdicts come first.
const ChainPriority = -1

// Rule identifiers: the first word of each rule's comment, and the key of its
// counter in Status.Counters.
const (
	RuleAllowSrc4  = "allow-src4"
	RuleAllowDst4  = "allow-dst4"
	RuleAllowSrc6  = "allow-src6"
	RuleAllowDst6  = "allow-dst6"
	RuleFromLAN    = "from-lan"
	RulePing       = "queue-ping"
	RuleHTTP       = "queue-http"
	RuleToPeers4   = "drop-to-peers4"
	RuleToPeers6   = "drop-to-peers6"
	RuleFromPeers4 = "drop-from-peers4"
	RuleFromPeers6 = "drop-from-peers6"
	RuleLock4      = "lock4"
	RuleLock6      = "lock6"
	RulePong       = "queue-pong"
)

// setNames returns every set of the table in a fixed order.
func setNames() [6]string {
	return [6]string{SetPeers4, SetPeers6, SetLocked4, SetLocked6, SetAllow4, SetAllow6}
}
