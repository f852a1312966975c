// Package e2e holds ftwall's end-to-end tests: real packets through the
// namespace lab of internal/lab, with ftwall's table installed in the
// router namespace. They run as root only (and skip otherwise); TestMain
// checks that the host's own nftables ruleset is unchanged afterwards.
package e2e
