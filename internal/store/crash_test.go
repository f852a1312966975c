package store

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var errInjected = errors.New("injected failure")

// faultFS is the real file system, except that file-system operation number
// failAt (1-based, counting every call) fails. With crash set, every later
// operation fails as well without effect, as if the process had been killed
// at that point: nothing is cleaned up.
type faultFS struct {
	failAt int
	crash  bool
	ops    int
	log    []string
	// before, when set, runs before each operation.
	before func(n int, op string)
}

func (f *faultFS) step(op string) error {
	f.ops++
	f.log = append(f.log, op)
	if f.before != nil {
		f.before(f.ops, op)
	}
	if f.failAt > 0 && (f.ops == f.failAt || (f.crash && f.ops > f.failAt)) {
		return fmt.Errorf("%s: %w", op, errInjected)
	}
	return nil
}

func (f *faultFS) CreateTemp(dir, pattern string) (tempFile, error) {
	if err := f.step("createtemp"); err != nil {
		return nil, err
	}
	file, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	if err := f.step("rename"); err != nil {
		return err
	}
	return os.Rename(oldpath, newpath)
}

func (f *faultFS) Remove(name string) error {
	if err := f.step("remove"); err != nil {
		return err
	}
	return os.Remove(name)
}

func (f *faultFS) SyncDir(dir string) error {
	if err := f.step("syncdir"); err != nil {
		return err
	}
	return osFS{}.SyncDir(dir)
}

type faultFile struct {
	*os.File
	fs *faultFS
}

// Write fails after writing half of p: a torn write.
func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.step("write"); err != nil {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, err
	}
	return f.File.Write(p)
}

func (f *faultFile) Chmod(mode os.FileMode) error {
	if err := f.fs.step("chmod"); err != nil {
		return err
	}
	return f.File.Chmod(mode)
}

func (f *faultFile) Sync() error {
	if err := f.fs.step("sync"); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	err := f.fs.step("close")
	cerr := f.File.Close() // the kernel closes it when a process dies, too
	if err != nil {
		return err
	}
	return cerr
}

func crashPeers(n int, seen time.Time, reason string) []Peer {
	peers := make([]Peer, n)
	for i := range peers {
		peers[i] = Peer{netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), uint16(i), seen, reason}
	}
	return peers
}

// TestCrashAtEveryStep makes each file-system operation of a save fail in
// turn, once as an error (the save cleans up) and once as a crash (nothing
// after it happens): the storefile must always be the old or the new complete
// content, never anything else.
func TestCrashAtEveryStep(t *testing.T) {
	// Enough data for several write calls through the 256 KiB buffer.
	oldPeers := crashPeers(12000, base, "old generation")
	newPeers := crashPeers(12000, base.Add(time.Hour), "new generation, longer reason text")
	ref := t.TempDir()
	if err := writeFile(osFS{}, filepath.Join(ref, "old"), oldPeers); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(osFS{}, filepath.Join(ref, "new"), newPeers); err != nil {
		t.Fatal(err)
	}
	oldData, _ := os.ReadFile(filepath.Join(ref, "old"))
	newData, _ := os.ReadFile(filepath.Join(ref, "new"))

	// A clean run counts the operations.
	clean := &faultFS{}
	if err := writeFile(clean, filepath.Join(ref, "count"), newPeers); err != nil {
		t.Fatal(err)
	}
	renameAt := slices.Index(clean.log, "rename") + 1
	if writes := strings.Count(strings.Join(clean.log, " "), "write"); writes < 3 {
		t.Fatalf("only %d write calls (%v); the test needs torn writes in the middle", writes, clean.log)
	}
	t.Logf("a save is %d operations: %v", clean.ops, clean.log)

	for failAt := 1; failAt <= clean.ops; failAt++ {
		for _, crash := range []bool{false, true} {
			name := fmt.Sprintf("%s at op %d (%s)", map[bool]string{false: "error", true: "crash"}[crash], failAt, clean.log[failAt-1])
			dir := t.TempDir()
			path := filepath.Join(dir, "peers")
			if err := os.WriteFile(path, oldData, FileMode); err != nil {
				t.Fatal(err)
			}
			ffs := &faultFS{failAt: failAt, crash: crash}
			s, err := open(path, 0, ffs, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range newPeers {
				s.Put(p)
			}
			err = s.Save()
			if !errors.Is(err, errInjected) {
				t.Fatalf("%s: Save = %v, want the injected error", name, err)
			}
			got, _ := os.ReadFile(path)
			switch {
			case failAt <= renameAt && string(got) != string(oldData):
				t.Fatalf("%s: file is not the old content (%d bytes)", name, len(got))
			case failAt > renameAt && string(got) != string(newData):
				t.Fatalf("%s: file is not the new content (%d bytes)", name, len(got))
			}
			if !s.Dirty() {
				t.Errorf("%s: store not dirty after a failed save", name)
			}
			entries, _ := os.ReadDir(dir)
			if !crash && len(entries) != 1 {
				t.Errorf("%s: temporary file left behind: %v", name, entries)
			}
			// The next start cleans up and loads a complete file; the
			// next save (no faults) writes the new content.
			s2, err := Open(path, 0)
			if err != nil {
				t.Fatalf("%s: reopen: %v", name, err)
			}
			n := 0
			lerrs, err := s2.Stream(func(Peer) error { n++; return nil })
			if err != nil || len(lerrs) != 0 || n != len(oldPeers) {
				t.Fatalf("%s: reopen: %d peers, %v, %v", name, n, lerrs, err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("%s: Open left %v", name, entries)
			}
			ffs.failAt = 0
			if err := s.Save(); err != nil {
				t.Fatalf("%s: retry: %v", name, err)
			}
			if got, _ := os.ReadFile(path); string(got) != string(newData) {
				t.Fatalf("%s: retry did not write the new content", name)
			}
		}
	}
}

const (
	killPeers    = 8000 // two write calls per save
	killChildEnv = "FTWALL_STORE_KILL_CHILD"
	killAtEnv    = "FTWALL_STORE_KILL_AT"
)

// TestKillDuringSave runs a child process (this test binary) that saves the
// store in a loop, each generation with new last-seen times, and SIGKILLs it:
// first right before each file-system operation of a save in turn (the child
// announces the operation and waits to be killed), then at random moments.
// Afterwards the file must load completely and hold one generation only.
func TestKillDuringSave(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		killChild(path) // never returns
	}
	if testing.Short() {
		t.Skip("-short: skipping the kill -9 loop")
	}
	const n = killPeers
	dir := t.TempDir()
	path := filepath.Join(dir, "peers")
	rng := rand.New(rand.NewPCG(5, 6))
	midSave := 0
	for round := range 16 {
		killAt := 0 // random moment
		if round < 10 {
			killAt = round + 1
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringSave$", "-test.count=1")
		cmd.Env = append(os.Environ(), killChildEnv+"="+path, fmt.Sprintf("%s=%d", killAtEnv, killAt))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(out)
		line, err := r.ReadString('\n')
		if err == nil && line == "ready\n" && killAt > 0 {
			line, err = r.ReadString('\n')
			if err == nil && !strings.HasPrefix(line, "paused before ") {
				err = errors.New("no pause")
			}
		} else if err == nil && line != "ready\n" {
			err = errors.New("not ready")
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child said %q: %v", round, line, err)
		}
		what := strings.TrimSpace(line)
		if killAt == 0 {
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
			what = "random moment"
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if entries, _ := os.ReadDir(dir); len(entries) > 1 {
			midSave++ // killed while a temporary file existed
		}

		peers, lerrs, err := Load(path)
		if err != nil || len(lerrs) != 0 {
			t.Fatalf("round %d (killed %s): Load: %v %v", round, what, lerrs, err)
		}
		if len(peers) != n {
			t.Fatalf("round %d (killed %s): %d peers, want %d", round, what, len(peers), n)
		}
		for _, p := range peers {
			if !p.LastSeen.Equal(peers[0].LastSeen) {
				t.Fatalf("round %d (killed %s): mixed generations %v and %v", round, what, p.LastSeen, peers[0].LastSeen)
			}
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != FileMode {
			t.Errorf("round %d: mode %v", round, fi.Mode())
		}
		t.Logf("round %d: killed %s, file holds generation %v", round, what, peers[0].LastSeen.Sub(base))
	}
	if midSave == 0 {
		t.Error("no round killed the child while a temporary file existed; the test does not test saving")
	}
	t.Logf("%d rounds killed the child in the middle of a save", midSave)
}

// killChild saves generation after generation until it is killed. With
// killAt > 0, it announces operation killAt of the saves after the first one
// and waits before doing it.
func killChild(path string) {
	ffs := &faultFS{}
	s, err := open(path, 0, ffs, time.Now)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	start := 0
	if peers, _ := s.Peers(); len(peers) > 0 {
		start = int(peers[0].LastSeen.Sub(base) / time.Second)
	}
	killAt, _ := strconv.Atoi(os.Getenv(killAtEnv))
	for gen := start + 1; ; gen++ {
		for _, p := range crashPeers(killPeers, base.Add(time.Duration(gen)*time.Second), "kill test") {
			s.Put(p)
		}
		if err := s.Save(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if gen == start+1 {
			fmt.Println("ready")
			if killAt > 0 {
				at := ffs.ops + killAt
				ffs.before = func(n int, op string) {
					if n == at {
						fmt.Printf("paused before op %d (%s)\n", killAt, op)
						time.Sleep(time.Hour)
					}
				}
			}
		}
	}
}
