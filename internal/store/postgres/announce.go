package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// announcer tells the other nodes, after commits, whose event logs grew.
// A transaction that notifies takes a lock on the whole database at its
// commit, so that NOTIFY inside every writing transaction would make each
// commit wait for the one before it. Instead each node sends what its
// committed transactions wrote in batches, one NOTIFY in flight at a time,
// from outside them. A write is answered once its batch has gone out, so
// whatever a node acknowledged has been announced. If a node stops between
// a commit and its batch (before answering), the other nodes' subscribers
// learn of those events at their next read: a stream reads again at every
// keep-alive, and a long-poll ends within its wait.
type announcer struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	// tag starts this node's payloads, so that its own listener can skip
	// them: this node's subscribers were woken at the commit.
	tag string

	mu      sync.Mutex
	pending map[string]struct{}
	// sent are the waiters of the pending handles: closed once a batch
	// holding them has gone out.
	sent     []chan struct{}
	kick     chan struct{}
	quit     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// notifyChannel carries, as its payload, a node's tag and the handles
// whose logs grew, separated by spaces (handles contain none).
const notifyChannel = "agcom_events"

// maxPayload keeps a notification under PostgreSQL's 8,000-byte limit.
const maxPayload = 7_900

// tagPrefix starts a node's tag; no handle can contain it.
const tagPrefix = "@"

// announceGap is the least time between two of a node's batches: a write
// waits at most this long more for its batch, and a busy node sends at
// most one NOTIFY per gap.
const announceGap = 5 * time.Millisecond

// finalSendWait bounds the last batch sent when the store closes.
const finalSendWait = 5 * time.Second

func startAnnouncer(pool *pgxpool.Pool, log *slog.Logger) *announcer {
	b := make([]byte, 8)
	rand.Read(b)
	a := &announcer{
		pool: pool, log: log, tag: tagPrefix + hex.EncodeToString(b),
		pending: map[string]struct{}{},
		kick:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go a.run()
	return a
}

// add queues handles whose logs grew in a committed transaction, and
// returns a channel closed once they have been announced.
func (a *announcer) add(handles []string) <-chan struct{} {
	done := make(chan struct{})
	if len(handles) == 0 {
		close(done)
		return done
	}
	a.requeue(handles, []chan struct{}{done})
	return done
}

// announce queues handles and waits until they have gone out, ctx ends,
// or sendWait has passed (they stay queued, and go out with a later
// batch).
func (a *announcer) announce(ctx context.Context, handles []string) {
	select {
	case <-a.add(handles):
	case <-ctx.Done():
	case <-time.After(sendWait):
	}
}

func (a *announcer) requeue(handles []string, waiters []chan struct{}) {
	a.mu.Lock()
	for _, h := range handles {
		a.pending[h] = struct{}{}
	}
	a.sent = append(a.sent, waiters...)
	a.mu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default: // a batch is due already
	}
}

func (a *announcer) run() {
	defer close(a.done)
	delay := minReconnectDelay
	for {
		select {
		case <-a.kick:
		case <-a.quit:
			a.sendLast()
			return
		}
		batch, waiters := a.take()
		if len(batch) == 0 {
			continue
		}
		if err := a.send(context.Background(), batch); err != nil {
			a.log.Warn("store: could not announce events to other nodes; retrying", "error", redactErr(err).Error())
			a.requeue(batch, waiters)
			select {
			case <-time.After(delay):
			case <-a.quit:
				a.sendLast()
				return
			}
			delay = min(2*delay, maxReconnectDelay)
			continue
		}
		for _, w := range waiters {
			close(w)
		}
		delay = minReconnectDelay
		// Under load the next batch gathers what commits meanwhile: each
		// NOTIFY costs the database a transaction and a wake-up of every
		// listening node, more than the sends it announces.
		select {
		case <-time.After(announceGap):
		case <-a.quit:
			a.sendLast()
			return
		}
	}
}

// sendLast sends what is queued when the store closes.
func (a *announcer) sendLast() {
	ctx, cancel := context.WithTimeout(context.Background(), finalSendWait)
	defer cancel()
	batch, waiters := a.take()
	if len(batch) > 0 {
		if err := a.send(ctx, batch); err != nil {
			a.log.Warn("store: could not announce the last events to other nodes", "error", redactErr(err).Error())
		}
	}
	for _, w := range waiters {
		close(w)
	}
}

// take empties the queue: its handles and their waiters.
func (a *announcer) take() ([]string, []chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	batch := make([]string, 0, len(a.pending))
	for h := range a.pending {
		batch = append(batch, h)
	}
	clear(a.pending)
	waiters := a.sent
	a.sent = nil
	return batch, waiters
}

// sendWait bounds one batch, so that a database that stopped answering
// does not hold the queue for ever.
const sendWait = 10 * time.Second

// sqlNotifyAll sends every payload in one transaction: one commit, one
// turn of the database's notify lock.
const sqlNotifyAll = `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`

func (a *announcer) send(ctx context.Context, handles []string) error {
	ctx, cancel := context.WithTimeout(ctx, sendWait)
	defer cancel()
	_, err := a.pool.Exec(ctx, sqlNotifyAll, notifyChannel, payloads(a.tag, handles))
	return err
}

// payloads splits handles into notification payloads under PostgreSQL's
// size limit, each starting with the tag and separated by spaces (handles
// contain none).
func payloads(tag string, handles []string) []string {
	var (
		out []string
		b   strings.Builder
	)
	for _, h := range handles {
		if b.Len() > 0 && b.Len()+1+len(h) > maxPayload {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString(tag)
		}
		b.WriteByte(' ')
		b.WriteString(h)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// stop sends what is queued and ends the announcer; it may be called more
// than once.
func (a *announcer) stop() {
	if a == nil {
		return
	}
	a.stopOnce.Do(func() { close(a.quit) })
	<-a.done
}

// handlesOf returns the handles a notification names, and false when this
// node sent it.
func (a *announcer) handlesOf(payload string) ([]string, bool) {
	fields := strings.Fields(payload)
	if len(fields) > 0 && strings.HasPrefix(fields[0], tagPrefix) {
		if fields[0] == a.tag {
			return nil, false
		}
		fields = fields[1:]
	}
	return fields, true
}
