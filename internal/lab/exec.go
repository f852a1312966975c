package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Command returns the command `ip netns exec <n.Name> name args...`, bound
// to ctx, for programs that must run inside n (nft, ping, socat …).
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs a command inside n and returns its combined output. On failure
// the error names the command and includes that output.
func (n *NS) Run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := n.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in network namespace %s: %s %s: %w: %s",
			n.Name, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ip runs `ip -n <name> -batch -` with the given commands, one a line.
func (n *NS) ip(ctx context.Context, cmds []string) error {
	cmd := exec.CommandContext(ctx, "ip", "-n", n.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("configure network namespace %s with ip(8): %w: %s", n.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Ping sends one ICMP (or ICMPv6) echo request from n to addr and waits for
// the reply, at most one second or until ctx's deadline.
func (n *NS) Ping(ctx context.Context, addr netip.Addr) error {
	wait := time.Second
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < wait {
			wait = left
		}
	}
	wait = max(wait, 10*time.Millisecond)
	_, err := n.Run(ctx, "ping", "-n", "-q", "-c", "1", "-W", strconv.FormatFloat(wait.Seconds(), 'f', 3, 64), addr.String())
	if err != nil {
		return fmt.Errorf("ping %s: %w", addr, err)
	}
	return nil
}
