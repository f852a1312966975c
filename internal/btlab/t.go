package btlab

import "context"

// T is what the rig needs of its caller: the subset of testing.TB that
// btlab uses. *testing.T, *testing.B and any testing.TB satisfy it, and so
// can a program that is not a test (internal/demo runs the rig with its own
// implementation).
//
// The rig relies on testing's meaning of each method: Fatalf and Skipf end
// the calling goroutine (runtime.Goexit) after recording; Cleanup
// functions run last-added first when the caller is done, also after a
// failure; TempDir is a fresh directory removed after the cleanups;
// Context ends just before the cleanups run.
type T interface {
	Helper()
	Name() string
	Context() context.Context
	TempDir() string
	Cleanup(func())
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Failed() bool
}
