package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/registry"
)

// ctxCheckEvery is how many records are read between cancellation checks.
const ctxCheckEvery = 256

// Run reads opts.Files in order, classifies every packet and writes the
// report (or the JSON lines) to stdout. A file that cannot be read stops
// the run: the results up to that point are printed, then the error is
// returned; it names the file and, past the file header, the record.
func Run(ctx context.Context, opts Options, stdout io.Writer) error {
	if len(opts.Files) == 0 {
		return errors.New("no capture files given")
	}
	lan := opts.LAN
	if len(lan) == 0 {
		lan = DefaultLAN()
	}
	out := bufio.NewWriter(stdout)
	ds := opts.Detectors
	if len(ds) == 0 {
		ds = registry.Builtin()
	}
	a := newAuditor(lan, ds, opts.JSON, out)

	var runErr error
	for _, name := range opts.Files {
		if name == StdinName {
			if opts.Stdin == nil {
				runErr = errors.New("standard input (-): not available")
				break
			}
			if runErr = a.stream(ctx, "standard input", opts.Stdin); runErr != nil {
				break
			}
			continue
		}
		if runErr = a.file(ctx, name); runErr != nil {
			break
		}
	}
	if opts.JSON {
		a.writeSummary()
	} else {
		a.writeReport(runErr)
	}
	if err := errors.Join(a.outErr, out.Flush()); err != nil {
		return errors.Join(runErr, fmt.Errorf("cannot write the audit output: %w", err))
	}
	return runErr
}

// file audits one capture file.
func (a *auditor) file(ctx context.Context, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("cannot read capture: %w", err)
	}
	defer f.Close()
	return a.stream(ctx, name, f)
}

// stream audits the capture read from r; name is used in messages.
func (a *auditor) stream(ctx context.Context, name string, r io.Reader) error {
	src, err := openCapture(r)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	a.files++
	for rec := 1; ; rec++ {
		if rec%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%s: stopped before record %d: %w", name, rec, err)
			}
		}
		data, ci, lt, err := src.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%s: record %d: the file ends inside this record (truncated capture file)", name, rec)
			}
			return fmt.Errorf("%s: record %d: damaged record: %w", name, rec, err)
		}
		if err := a.record(name, rec, ci, lt, data); err != nil {
			return fmt.Errorf("%s: record %d: %w", name, rec, err)
		}
	}
}

// record runs one captured frame through decode → classify → decide.
func (a *auditor) record(file string, rec int, ci gopacket.CaptureInfo, lt layers.LinkType, data []byte) error {
	a.packets++
	if ci.CaptureLength < ci.Length {
		a.truncated++
	}
	ip, err := ipPayload(lt, data)
	if err != nil {
		return err
	}
	if ip == nil {
		a.nonIP++
		return nil
	}
	if inspect.Decode(ip, &a.pkt) != nil {
		a.undecodable++
		return nil
	}
	fromLAN := a.settings.IsLAN(a.pkt.Src)
	if !a.classifier.Classify(ci.Timestamp, &a.pkt, fromLAN, &a.sc, &a.ev) {
		return nil
	}
	inspect.Decide(&a.ev, fromLAN, &a.settings, &a.dec)
	a.event(file, rec, ci, fromLAN)
	return nil
}
