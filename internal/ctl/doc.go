// Package ctl is the channel between `ftwall run` and the one-shot commands
// (block, unblock, unlock, list, setup, teardown, status): a lock file that
// says which process owns the table, and a unix control socket, root only,
// through which the running service carries out operator requests.
//
// Both live in a run directory (/run/ftwall for the systemd unit). The lock
// file is held with flock(2) for as long as `ftwall run` runs, so a crash
// releases it; its content (the pid) is for messages only. The socket
// speaks one JSON request and one JSON response per connection.
package ctl
