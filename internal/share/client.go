package share

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Batch is a run of received entries of one bucket, in bucket order.
type Batch struct {
	Kind    Kind
	Entries []Entry
	// Initial says the entries are part of the bucket's contents at start
	// (the caller loads them like the storefile); Loaded that the bucket's
	// contents at start are complete with this batch.
	Initial, Loaded bool
}

// Stats is the share state for ftwall status and the metrics.
type Stats struct {
	Mode      Mode   `json:"mode"`
	Gateway   string `json:"gateway"`
	Connected bool   `json:"connected"`
	// Server is the server connected to (credentials redacted).
	Server string `json:"server,omitempty"`
	// Received says the buckets' contents at start have all been received
	// (handed on; the caller says when they are in the kernel).
	Received bool `json:"contents_received"`
	// Published counts entries the servers acknowledged; PublishErrors
	// failed attempts (the entry is retried); Dropped entries pushed out of
	// the full backlog; Backlog the entries waiting.
	Published     uint64 `json:"published"`
	PublishErrors uint64 `json:"publish_errors"`
	Dropped       uint64 `json:"dropped"`
	Backlog       int    `json:"backlog"`
	// Entries counts entries received; Undecodable those that were no
	// ftwall entry (logged, never applied); Echoes this gateway's own live
	// entries coming back (not applied again).
	Entries     uint64 `json:"received"`
	Undecodable uint64 `json:"undecodable"`
	Echoes      uint64 `json:"echoes"`
	Reconnects  uint64 `json:"reconnects"`
	// ConsumersLost counts bucket readers lost with their server (or
	// deleted by it) and made again.
	ConsumersLost uint64 `json:"consumers_lost"`
	LastError     string `json:"last_error,omitempty"`
}

// Client is one gateway's connection to the share.
type Client struct {
	cfg Config
	log *slog.Logger
	nc  *nats.Conn
	js  jetstream.JetStream

	backlog *backlog
	out     chan Batch
	// reconnected wakes the publisher and restarts the watchers.
	reconnected chan struct{}
	restart     []chan struct{}

	published, publishErrors, received, undecodable, echoes, reconnects, consumersLost atomic.Uint64
	loaded                                                                             [2]atomic.Bool
	lastErr                                                                            atomic.Pointer[string]
	connErr                                                                            atomic.Pointer[string]
	badLogged                                                                          atomic.Int64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Open starts sharing with cfg. It returns at once: when no server can be
// reached it goes on trying with backoff, and the gateway works alone
// meanwhile. Close stops it.
func Open(cfg Config, log *slog.Logger) (*Client, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		cfg:         cfg,
		log:         log.With("component", "share"),
		backlog:     newBacklog(cfg.Backlog),
		out:         make(chan Batch, 1),
		reconnected: make(chan struct{}, 1),
	}
	kinds := []Kind{KindPeer}
	if cfg.Mode.SharesLocks() {
		kinds = append(kinds, KindLock)
	} else {
		c.loaded[KindLock].Store(true)
	}
	// The restart channels exist before the connection's callbacks can run.
	for range kinds {
		c.restart = append(c.restart, make(chan struct{}, 1))
	}
	opts, err := c.natsOptions()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("share: connect to %s: %w", strings.Join(cfg.URLs, ", "), err)
	}
	// An acknowledgement that does not come (the stream's leader died with
	// the publish in flight) times out, so the publish is retried and its
	// slot among the pending ones is freed; without a timeout such
	// publishes stayed pending for good and, once 1,024 of them had
	// gathered, nothing could be published again.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024), jetstream.WithPublishAsyncTimeout(publishAckWait))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("share: %w", err)
	}
	c.nc, c.js = nc, js
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for i, k := range kinds {
		r := c.restart[i]
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.watch(ctx, k, r) }()
	}
	if cfg.Mode.Publishes() {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.publish(ctx) }()
	}
	c.log.Info("sharing", "servers", cfg.URLs, "mode", cfg.Mode, "gateway", cfg.Name,
		"peers_bucket", cfg.PeersBucket, "locks_bucket", c.locksBucketLogged())
	return c, nil
}

func (c *Client) locksBucketLogged() string {
	if c.cfg.Mode.SharesLocks() {
		return c.cfg.LocksBucket
	}
	return "(not shared in this mode)"
}

func (c *Client) natsOptions() ([]nats.Option, error) {
	cfg := c.cfg
	opts := []nats.Option{
		nats.Name("ftwall " + cfg.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.Timeout(2 * time.Second),
		// A server gone silent (a partition) is noticed in a few seconds,
		// not the default two minutes.
		nats.PingInterval(2 * time.Second),
		nats.MaxPingsOutstanding(2),
		// Nothing is buffered in the client while disconnected: the
		// backlog keeps it, bounded and counted.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				c.setErr(err)
			}
			c.log.Warn("share: disconnected from the servers; blocking goes on with what this gateway knows, and what it learns waits in the backlog", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.reconnects.Add(1)
			c.connErr.Store(nil)
			c.log.Info("share: connected", "server", nc.ConnectedUrlRedacted())
			c.wake()
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			c.connErr.Store(nil)
			c.log.Info("share: connected", "server", nc.ConnectedUrlRedacted(), "server_version", nc.ConnectedServerVersion())
			c.wake()
		}),
		// Why a connection attempt failed (a certificate, a password, a
		// refused port): kept for ftwall status, logged when it changes.
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				return
			}
			s := err.Error()
			if prev := c.connErr.Swap(&s); prev == nil || *prev != s {
				c.log.Warn("share: cannot connect to a server; retrying", "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.setErr(err)
			c.log.Warn("share: server reported an error", "err", err)
		}),
	}
	switch {
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	case cfg.Token != "":
		opts = append(opts, nats.Token(cfg.Token))
	case cfg.NKeyFile != "":
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--share-nkey: %w", err)
		}
		opts = append(opts, o)
	case cfg.CredsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	return opts, nil
}

// publishAckWait is how long a publish waits for the servers'
// acknowledgement before it is retried.
const publishAckWait = 5 * time.Second

// reconnectDelay is the backoff between reconnect attempts: 100 ms
// doubling up to 1 s, with jitter so that gateways do not come back in step.
func reconnectDelay(attempts int) time.Duration {
	d := 100 * time.Millisecond << min(attempts, 5)
	d = min(d, time.Second)
	return d/2 + rand.N(d/2+1)
}

func (c *Client) wake() {
	select {
	case c.reconnected <- struct{}{}:
	default:
	}
	for _, r := range c.restart {
		select {
		case r <- struct{}{}:
		default:
		}
	}
}

func (c *Client) setErr(err error) {
	s := err.Error()
	c.lastErr.Store(&s)
}

// Updates delivers received entries in batches, in bucket order.
func (c *Client) Updates() <-chan Batch { return c.out }

// Publish hands e to the publisher; it never blocks. A full backlog drops
// its oldest entry (counted in Stats.Dropped). In mode receive it does
// nothing.
func (c *Client) Publish(e Entry) {
	if !c.cfg.Mode.Publishes() || (e.Kind == KindLock && !c.cfg.Mode.SharesLocks()) {
		return
	}
	e.Gateway = c.cfg.Name
	c.backlog.push(e)
}

// Delete publishes the deletion of a (unblock, unlock).
func (c *Client) Delete(kind Kind, a netip.Addr) {
	c.Publish(Entry{Kind: kind, Addr: a, Deleted: true})
}

// Mode is the configured mode.
func (c *Client) Mode() Mode { return c.cfg.Mode }

// Config is the configuration in use (defaults filled in).
func (c *Client) Config() Config { return c.cfg }

// Stats returns the share state.
func (c *Client) Stats() Stats {
	pending, dropped := c.backlog.stats()
	st := Stats{
		Mode: c.cfg.Mode, Gateway: c.cfg.Name,
		Connected: c.nc.IsConnected(),
		Received:  c.loaded[KindPeer].Load() && c.loaded[KindLock].Load(),
		Published: c.published.Load(), PublishErrors: c.publishErrors.Load(),
		Dropped: dropped, Backlog: pending,
		Entries: c.received.Load(), Undecodable: c.undecodable.Load(), Echoes: c.echoes.Load(),
		Reconnects: c.reconnects.Load(), ConsumersLost: c.consumersLost.Load(),
	}
	if st.Connected {
		st.Server = c.nc.ConnectedUrlRedacted()
	}
	if e := c.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	if e := c.connErr.Load(); e != nil && !st.Connected {
		st.LastError = *e // while disconnected, why is what matters
	}
	return st
}

// Flush waits up to ctx for the backlog to be published.
func (c *Client) Flush(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if n, _ := c.backlog.stats(); n == 0 {
			select {
			case <-c.js.PublishAsyncComplete():
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			n, _ := c.backlog.stats()
			return fmt.Errorf("share: %d entries not published: %w", n, ctx.Err())
		case <-t.C:
		}
	}
}

// Close stops sharing, giving the backlog up to ctx to be published.
func (c *Client) Close(ctx context.Context) error {
	var err error
	if c.cfg.Mode.Publishes() && c.nc.IsConnected() {
		err = c.Flush(ctx)
	}
	c.cancel()
	c.nc.Close()
	c.wg.Wait()
	return err
}

func (c *Client) bucketName(k Kind) string {
	if k == KindLock {
		return c.cfg.LocksBucket
	}
	return c.cfg.PeersBucket
}

func (c *Client) bucketTTL(k Kind) time.Duration {
	if k == KindLock {
		return c.cfg.LockTTL
	}
	return c.cfg.PeerTTL
}

// bind returns the bucket of k, creating it when it is missing and this
// gateway publishes; it retries with backoff until ctx is done.
func (c *Client) bind(ctx context.Context, k Kind) (jetstream.KeyValue, error) {
	name := c.bucketName(k)
	for attempt := 0; ; attempt++ {
		kv, err := c.js.KeyValue(ctx, name)
		if errors.Is(err, jetstream.ErrBucketNotFound) && c.cfg.Mode.Publishes() {
			kv, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket: name, History: 1, TTL: c.bucketTTL(k), Replicas: c.cfg.Replicas,
				Storage: jetstream.FileStorage, Description: "ftwall shared " + k.String() + "s",
			})
			if errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = c.js.KeyValue(ctx, name) // another gateway was first
			}
			if err == nil {
				c.log.Info("share: bucket created", "bucket", name, "ttl", c.bucketTTL(k), "replicas", c.cfg.Replicas)
			}
		}
		if err == nil {
			c.checkTTL(ctx, kv, k)
			return kv, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c.setErr(err)
		if attempt == 0 || attempt%30 == 0 {
			c.log.Warn("share: bucket not available yet; retrying", "bucket", name, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(reconnectDelay(attempt)):
		}
	}
}

func (c *Client) checkTTL(ctx context.Context, kv jetstream.KeyValue, k Kind) {
	st, err := kv.Status(ctx)
	if err != nil {
		return
	}
	if want := c.bucketTTL(k); st.TTL() != want && c.cfg.Mode.Publishes() {
		c.log.Warn("share: the bucket's TTL differs from this gateway's timeout; entries live for the shorter of the two", "bucket", kv.Bucket(), "bucket_ttl", st.TTL(), "timeout", want)
	}
}

// errInvalid is an entry that cannot be published (it is dropped).
var errInvalid = errors.New("invalid entry")

// maxBatch bounds a batch handed to the caller.
const maxBatch = 4096

// watch receives the bucket of k and hands it on in batches. It reads the
// bucket's stream with an ordered pull consumer (every entry, oldest first:
// with one revision kept per key that is the last entry of every key, then
// every change), which buffers a bounded number of messages in the client
// however large the bucket is. After a reconnect or a lost consumer it
// starts again from the last revision seen, so nothing stored meanwhile is
// missed.
func (c *Client) watch(ctx context.Context, k Kind, restart <-chan struct{}) {
	var last uint64
	initial := true
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if _, err := c.bind(ctx, k); err != nil {
			return
		}
		// A (re)connection signalled before now is served by the consumer
		// made now.
		select {
		case <-restart:
		default:
		}
		in, stop, waiting, err := c.consume(ctx, k, last, initial)
		if err != nil {
			c.log.Debug("share: consumer not created; retrying", "bucket", c.bucketName(k), "err", err)
			c.setErr(err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(reconnectDelay(attempt)):
			}
			continue
		}
		attempt = 0
		c.log.Debug("share: receiving", "bucket", c.bucketName(k), "after_revision", last, "initial", initial)
		if initial && !waiting {
			// Nothing stored yet: the contents at start are complete.
			c.loaded[k].Store(true)
			if !c.sendBatch(ctx, Batch{Kind: k, Initial: true, Loaded: true}) {
				stop()
				return
			}
			initial = false
		}
		last, initial = c.receive(ctx, k, in, restart, last, initial)
		stop()
		c.log.Debug("share: consumer stopped", "bucket", c.bucketName(k), "last_revision", last)
	}
}

// inbox holds what a consumer's handler decoded and the watcher has not
// taken yet: at most inboxMax entries (the handler, and so the consumer,
// waits beyond), so memory stays bounded while the kernel is written.
type inbox struct {
	mu   sync.Mutex
	room *sync.Cond
	// entries in bucket order; the first boundary of them (boundary >= 0)
	// complete the contents at start.
	entries  []Entry
	boundary int
	last     uint64
	// initial: the contents at start are still arriving (the handler's
	// view; it filters this gateway's own live entries only after them).
	initial bool
	closed  bool
	notify  chan struct{}
	// lost: the consumer is gone with its server (heartbeats stopped) or
	// was deleted; the watcher makes a new one at once.
	lost chan struct{}
	strs interner // the handler's; one goroutine
}

const inboxMax = maxBatch

// consume starts an ordered consumer of k's bucket after revision last (0:
// from the start) whose handler decodes into the returned inbox; stop ends
// it. waiting says the contents at start are still to arrive (the stream
// held messages when the consumer started).
func (c *Client) consume(ctx context.Context, k Kind, last uint64, initial bool) (in *inbox, stop func(), waiting bool, err error) {
	bucket := c.bucketName(k)
	prefix := "$KV." + bucket + "."
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{prefix + ">"}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if last > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, last+1
	}
	// A creation the cluster does not answer (it placed the consumer on a
	// server that just died) is given up after 2 s and tried again, rather
	// than after the client's default 5 s.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := c.js.Stream(rctx, "KV_"+bucket)
	if err != nil {
		return nil, nil, false, err
	}
	in = &inbox{boundary: -1, last: last, notify: make(chan struct{}, 1), lost: make(chan struct{}, 1)}
	in.room = sync.NewCond(&in.mu)
	if info := st.CachedInfo(); initial && info != nil && info.State.Msgs > 0 {
		in.initial, waiting = true, true
	}
	cons, err := st.OrderedConsumer(rctx, cfg)
	if err != nil {
		return nil, nil, false, err
	}
	handler := func(m jetstream.Msg) { c.handle(k, prefix, in, m) }
	// Heartbeats every second: a consumer lost with its server is noticed
	// within a few seconds. The watcher, not the ordered consumer, makes
	// the new one: the ordered consumer's own reset gives each creation
	// 10 s and backs off to 10 s between them, and after a node was killed
	// that kept a gateway from receiving for over 30 s.
	cc, err := cons.Consume(handler, jetstream.PullMaxMessages(1024), jetstream.PullExpiry(3*time.Second), jetstream.PullHeartbeat(time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			// Runs under the consumer's lock: only signal.
			c.setErr(err)
			if consumerLost(err) {
				select {
				case in.lost <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		return nil, nil, false, err
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			in.mu.Lock()
			in.closed = true
			in.room.Broadcast()
			in.mu.Unlock()
			// Stopping must not wait: it can block on a connection
			// that is down. The consumer is deleted on the server
			// rather than left there for its inactivity threshold.
			go func() {
				info := cons.CachedInfo()
				cc.Stop()
				if info == nil {
					return
				}
				dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_ = c.js.DeleteConsumer(dctx, "KV_"+bucket, info.Name)
			}()
		})
	}
	return in, stop, waiting, nil
}

// consumerLost says err means the consumer is gone: its heartbeats stopped
// (its server died or is cut off) or the server deleted it.
func consumerLost(err error) bool {
	return errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrNoResponders)
}

// handle decodes one message into the inbox (the consumer's goroutine).
func (c *Client) handle(k Kind, prefix string, in *inbox, m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		return
	}
	c.received.Add(1)
	op := ""
	if h := m.Headers(); h != nil {
		op = h.Get("KV-Operation")
		if op == "" {
			op = h.Get("Nats-Marker-Reason") // newer servers' TTL markers
		}
	}
	key := strings.TrimPrefix(m.Subject(), prefix)
	en, derr := decode(k, key, m.Data(), meta.Timestamp, meta.Sequence.Stream, op != "", &in.strs)

	in.mu.Lock()
	defer in.mu.Unlock()
	for len(in.entries) >= inboxMax && !in.closed {
		in.room.Wait()
	}
	if in.closed {
		return
	}
	in.last = max(in.last, meta.Sequence.Stream)
	switch {
	case derr != nil:
		c.undecodable.Add(1)
		if c.badLogged.Add(1) <= 100 {
			c.log.Warn("share: entry is no ftwall entry; not applied", "bucket", c.bucketName(k), "key", printable(key), "revision", meta.Sequence.Stream, "err", derr)
		}
	case !in.initial && !en.Deleted && en.Gateway == c.cfg.Name:
		c.echoes.Add(1) // our own, already in our kernel
	default:
		if in.entries == nil {
			in.entries = make([]Entry, 0, 256)
		}
		in.entries = append(in.entries, en)
	}
	if in.initial && meta.NumPending == 0 {
		in.initial = false
		in.boundary = len(in.entries)
	}
	select {
	case in.notify <- struct{}{}:
	default:
	}
}

func (c *Client) sendBatch(ctx context.Context, b Batch) bool {
	select {
	case c.out <- b:
		return true
	case <-ctx.Done():
		return false
	}
}

// receive hands on what the inbox gets until ctx is done or a restart is
// asked for; it returns the last revision and whether the initial contents
// are still being received.
func (c *Client) receive(ctx context.Context, k Kind, in *inbox, restart <-chan struct{}, last uint64, initial bool) (uint64, bool) {
	for {
		select {
		case <-ctx.Done():
			return last, initial
		case <-restart:
			in.mu.Lock()
			last = in.last
			in.mu.Unlock()
			return last, initial
		case <-in.lost:
			c.consumersLost.Add(1)
			c.log.Debug("share: consumer lost; making a new one", "bucket", c.bucketName(k), "err", c.Stats().LastError)
			in.mu.Lock()
			last = in.last
			in.mu.Unlock()
			return last, initial
		case <-in.notify:
		}
		in.mu.Lock()
		es, boundary := in.entries, in.boundary
		in.entries, in.boundary = nil, -1
		last = in.last
		in.room.Broadcast()
		in.mu.Unlock()
		if boundary >= 0 {
			c.loaded[k].Store(true) // received; handed on next
			if !c.sendChunks(ctx, k, es[:boundary], true, true) {
				return last, initial
			}
			initial = false
			es = es[boundary:]
		}
		if !c.sendChunks(ctx, k, es, initial, false) {
			return last, initial
		}
	}
}

// sendChunks hands es on in batches of at most maxBatch; the last one
// carries loaded.
func (c *Client) sendChunks(ctx context.Context, k Kind, es []Entry, initial, loaded bool) bool {
	for len(es) > maxBatch {
		if !c.sendBatch(ctx, Batch{Kind: k, Entries: es[:maxBatch:maxBatch], Initial: initial}) {
			return false
		}
		es = es[maxBatch:]
	}
	if len(es) == 0 && !loaded {
		return true
	}
	return c.sendBatch(ctx, Batch{Kind: k, Entries: es, Initial: initial, Loaded: loaded})
}

// publish sends the backlog, in order, as asynchronous JetStream publishes
// acknowledged by the servers; what fails goes back to the front of the
// backlog and is retried after a backoff or a reconnect.
func (c *Client) publish(ctx context.Context) {
	var (
		buf     []Entry
		failed  []Entry
		futures []jetstream.PubAckFuture
		errs    int
	)
	for ctx.Err() == nil {
		buf = c.backlog.take(buf[:0], 1024)
		if len(buf) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-c.backlog.notify:
			}
			continue
		}
		if !c.nc.IsConnected() {
			c.backlog.pushFront(buf)
			select {
			case <-ctx.Done():
				return
			case <-c.reconnected:
			case <-time.After(time.Second):
			}
			continue
		}
		futures = futures[:0]
		failed = failed[:0]
		for i := range buf {
			f, err := c.send(ctx, &buf[i])
			if errors.Is(err, errInvalid) {
				c.log.Warn("share: entry not published", "addr", buf[i].Addr, "err", err)
				futures = append(futures, nil)
				continue
			}
			if err != nil {
				failed = append(failed, buf[i])
				c.publishErrors.Add(1)
				c.setErr(err)
				futures = append(futures, nil)
				continue
			}
			futures = append(futures, f)
		}
		select {
		case <-c.js.PublishAsyncComplete():
		case <-time.After(publishAckWait + time.Second):
		case <-ctx.Done():
			return
		}
		for i, f := range futures {
			if f == nil {
				continue // a synchronous deletion, done or in failed
			}
			select {
			case <-f.Ok():
				c.published.Add(1)
			case err := <-f.Err():
				c.publishErrors.Add(1)
				c.setErr(err)
				failed = append(failed, buf[i])
			default:
				c.publishErrors.Add(1)
				failed = append(failed, buf[i])
			}
		}
		if len(failed) > 0 {
			c.backlog.pushFront(failed)
			errs++
			if errs == 1 || errs%30 == 0 {
				c.log.Warn("share: publishing failed; retrying", "entries", len(failed), "err", c.Stats().LastError)
			}
			select {
			case <-ctx.Done():
				return
			case <-c.reconnected:
			case <-time.After(reconnectDelay(errs)):
			}
			continue
		}
		errs = 0
	}
}

// send publishes one entry: a put as an asynchronous publish to the
// bucket's subject, a deletion through the bucket (synchronous: they are
// rare, from operator commands).
func (c *Client) send(ctx context.Context, e *Entry) (jetstream.PubAckFuture, error) {
	key := Key(e.Addr)
	if e.Deleted {
		kv, err := c.js.KeyValue(ctx, c.bucketName(e.Kind))
		if err != nil {
			return nil, err
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := kv.Delete(dctx, key); err != nil {
			return nil, err
		}
		c.published.Add(1)
		return nil, nil
	}
	val, err := Encode(*e)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	return c.js.PublishAsync("$KV."+c.bucketName(e.Kind)+"."+key, val)
}
