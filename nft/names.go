package nft

import "time"

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
	// SetPardon4 and SetPardon6 hold addresses an operator unblocked or
	// unlocked (ftwall unblock/unlock): ftwall learns no peer and locks no
	// client there until the element expires (flag timeout, default element
	// timeout DefaultPardon). No rule uses them; they keep the pardon in the
	// kernel across restarts of ftwall run.
	SetPardon4 = "pardon4"
	SetPardon6 = "pardon6"
	// SetAllow4 and SetAllow6 are interval sets built from Config.Allow:
	// addresses ftwall never blocks, locks or learns.
	SetAllow4 = "allow4"
	SetAllow6 = "allow6"
	// SetLAN holds the names of the LAN interfaces (Config.LAN) and SetWAN
	// those of the WAN interfaces (Config.WAN; empty means every interface
	// that is not LAN).
	SetLAN = "lan_ifs"
	SetWAN = "wan_ifs"
	// SetLockReset4 and SetLockReset6 are meters (flag dynamic): one token
	// bucket per locked client that bounds the TCP resets the lock sends it
	// (LockResetRate); beyond it the client's SYNs are dropped. They exist
	// only with the time-lock on and LockReject.
	SetLockReset4 = "lock_rst4"
	SetLockReset6 = "lock_rst6"
)

// DefaultPardon is the default lifetime of a pardon4/pardon6 element.
const DefaultPardon = 24 * time.Hour

// DefaultMaxPeers is the default size of peers4 and peers6: twice the
// million peers ftwall is measured with (BENCHMARKS.md, P4).
const DefaultMaxPeers = 1 << 21

// MaxMaxPeers bounds Config.MaxPeers.
const MaxMaxPeers = 1 << 26

// LockSetSize is the maximum number of elements of locked4/locked6 (the
// kernel needs a size for sets that rules update, flag dynamic).
const LockSetSize = 65535

// LockResetRate is how many TCP resets per second one locked client gets at
// most, sustained, and LockResetBurst how many more at once (the kernel's
// token bucket holds that many): no second sees more than their sum, 1,000.
// A client in a reconnect loop gets its further SYNs dropped, which slows
// the loop down.
const (
	LockResetRate  = 900
	LockResetBurst = 100
)

// lockResetMeterTimeout is how long a client's token bucket stays after its
// last refused SYN.
const lockResetMeterTimeout = 10 * 1000 // milliseconds

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
	// ChainFromLANTCP and ChainFromLANUDP hold the queue rules of one
	// transport: from_lan sends a packet to its transport's chain with one
	// test, so a packet never walks the other transport's rules and the
	// rules need no protocol test of their own.
	ChainFromLANTCP = "from_lan_tcp"
	ChainFromLANUDP = "from_lan_udp"
	// ChainEnforce is the second base chain on the forward hook, after
	// ChainForward: it drops traffic to and from blocked peers and refuses
	// the new TCP connections of locked clients. It is a base chain of its
	// own because an accept (by the inspector, or by queue bypass while no
	// inspector runs) ends only the base chain that gave it: candidates
	// accepted in ChainForward still meet these rules.
	ChainEnforce = "enforce"
	// ChainEnforceLAN holds the enforcement rules for packets from a LAN
	// interface (ChainEnforce sends them there with one goto).
	ChainEnforceLAN = "enforce_lan"
	// ChainPeerDrop4/6 drop a LAN packet to a blocked peer; a locked
	// client's TCP gets a reset there and its lock is refreshed.
	ChainPeerDrop4 = "peer_drop4"
	ChainPeerDrop6 = "peer_drop6"
	// ChainLockRefuse4/6 refuse a locked client's TCP: they refresh its lock
	// (a refused connection is a sign of life), bound the resets it gets, and
	// reset (or drop) the segment.
	ChainLockRefuse4 = "lock_refuse4"
	ChainLockRefuse6 = "lock_refuse6"
)

// ChainPriority is the priority of the inspection chains (forward, input):
// just before the usual filter priority (0), so ftwall's verdicts come first.
const ChainPriority = -1

// ChainEnforcePriority is the priority of ChainEnforce: after ChainForward.
const ChainEnforcePriority = 0

// Rule identifiers: the first word of each rule's comment, and the key of its
// counter in Status.Counters.
const (
	RuleFromLAN    = "from-lan"
	RuleLANTCP     = "lan-tcp"
	RuleLANUDP     = "lan-udp"
	RuleUDPOther   = "udp-other"
	RuleEnforceLAN = "enforce-lan"
	RulePeerReset4 = "peer-reset4"
	RulePeerReset6 = "peer-reset6"
	RulePeerSeen4  = "peer-lock-seen4"
	RulePeerSeen6  = "peer-lock-seen6"
	RulePeerDrop4  = "peer-drop4"
	RulePeerDrop6  = "peer-drop6"
	RuleLockSeen4  = "lock-seen4"
	RuleLockSeen6  = "lock-seen6"
	RuleLockLimit4 = "lock-limit4"
	RuleLockLimit6 = "lock-limit6"
	RuleRefuse4    = "lock-refuse4"
	RuleRefuse6    = "lock-refuse6"
	RuleToPeers4   = "drop-to-peers4"
	RuleToPeers6   = "drop-to-peers6"
	RuleFromPeers4 = "drop-from-peers4"
	RuleFromPeers6 = "drop-from-peers6"
	RuleLock4      = "lock4"
	RuleLock6      = "lock6"
)

// chainOrder is the order of the table's chains, as Setup creates them and
// Status lists them.
func chainOrder() []string {
	return []string{ChainForward, ChainFromLAN, ChainFromLANTCP, ChainFromLANUDP, ChainEnforce, ChainEnforceLAN,
		ChainLockRefuse4, ChainLockRefuse6, ChainPeerDrop4, ChainPeerDrop6, ChainInput}
}

// setNames returns every set of the table in a fixed order.
func setNames() [8]string {
	return [8]string{SetPeers4, SetPeers6, SetLocked4, SetLocked6, SetPardon4, SetPardon6, SetAllow4, SetAllow6}
}
