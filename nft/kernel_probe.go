package nft

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// ProbeBackend finds the queue backend the kernel supports: native where it
// has the nftables queue expression, else compat. Each try is one batch that
// creates a throw-away table with a queue rule in a chain on no hook and
// deletes the table again, so nothing stays behind and no packet ever meets
// it; a kernel without the expression rejects the whole batch.
func (k *Kernel) ProbeBackend(ctx context.Context) (Backend, error) {
	return k.probe(ctx)
}

func (k *Kernel) probe(ctx context.Context) (Backend, error) {
	if err := k.check(ctx); err != nil {
		return 0, err
	}
	nativeErr := k.tryQueue(ctx, BackendNative)
	if nativeErr == nil {
		k.log.Debug("queue backend probed", "backend", BackendNative)
		return BackendNative, nil
	}
	if !unsupported(nativeErr) {
		return 0, kernelError("probe the queue backend", noNftables(nativeErr))
	}
	compatErr := k.tryQueue(ctx, BackendCompat)
	if compatErr == nil {
		k.log.Debug("queue backend probed", "backend", BackendCompat, "native_error", nativeErr)
		return BackendCompat, nil
	}
	if !unsupported(compatErr) {
		return 0, kernelError("probe the queue backend", noNftables(compatErr))
	}
	return 0, fmt.Errorf("probe the queue backend: the kernel supports neither the nftables queue expression (nft_queue: %v) nor the xtables NFQUEUE target (nft_compat + xt_NFQUEUE: %v)", nativeErr, compatErr)
}

// unsupported reports errors of a kernel that lacks an expression.
func unsupported(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)
}

// tryQueue sends the probe batch for backend b.
func (k *Kernel) tryQueue(ctx context.Context, b Backend) error {
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return err
	}
	t := &nftables.Table{Name: "ftwall-probe-" + hex.EncodeToString(suffix[:]), Family: nftables.TableFamilyINet}
	c, err := k.dial(ctx, false, 0, 0)
	if err != nil {
		return err
	}
	defer c.close()
	c.AddTable(t)
	ch := c.AddChain(&nftables.Chain{Name: "probe", Table: t})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{queueExpr(b, 0, 1)}})
	c.DelTable(t)
	return c.Flush()
}
