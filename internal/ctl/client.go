package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrNoService is returned by Call when no service listens in the run
// directory.
var ErrNoService = errors.New("no ftwall run listens on the control socket")

// Call sends req to the service of run directory dir and returns its
// response. A response that carries an error is returned as an error too.
func Call(ctx context.Context, dir string, req Request) (Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", SocketPath(dir))
	if err != nil {
		return Response{}, fmt.Errorf("%w (%s): %v", ErrNoService, SocketPath(dir), err)
	}
	defer c.Close()
	deadline := time.Now().Add(connTimeout + 5*time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = c.SetDeadline(deadline)
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return Response{}, fmt.Errorf("send the request to %s: %w", SocketPath(dir), err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("read the service's answer on %s: %w", SocketPath(dir), err)
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("ftwall run: %s", resp.Error)
	}
	return resp, nil
}
