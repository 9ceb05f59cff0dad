package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/scimd/scimd/store"
)

// Config is how the worker reaches the SMTP server and paces itself. Each
// zero value is a safe default.
type Config struct {
	// Addr is the SMTP server's host:port. Empty means no server: the
	// messages stay queued, none lost, and Run says so once.
	Addr string
	// From is the envelope and header sender; "" means scimd@ the host
	// of Addr.
	From string
	// Username and Password, when Username is set, authenticate with
	// PLAIN, which net/smtp refuses over an unencrypted connection to a
	// host other than localhost.
	Username, Password string
	// Rate is each tenant's messages per second; 0 means 10.
	Rate float64
	// MaxAttempts is how many sends a message gets before it is failed;
	// 0 means 8.
	MaxAttempts int
	// Backoff is the wait after the first failure, doubled after each
	// next one up to MaxBackoff; 0 means 30 seconds and 1 hour.
	Backoff, MaxBackoff time.Duration
	// Poll is how often the worker looks for due messages when it found
	// none; 0 means 1 second.
	Poll time.Duration
	// Timeout bounds one SMTP conversation; 0 means 30 seconds.
	Timeout time.Duration
	// Lease is how long a claimed message waits before another claim may
	// take it (its worker died); 0 means 5 minutes.
	Lease time.Duration
	// Logger gets the failures; nil discards them.
	Logger *slog.Logger
}

// Worker delivers the outbox of one database.
type Worker struct {
	cfg Config
	db  *store.DB
	now func() time.Time

	mu     sync.Mutex
	limits map[int64]*rate.Limiter // by tenant
}

// New returns a worker delivering db's outbox as cfg says.
func New(cfg Config, db *store.DB) *Worker {
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.From == "" {
		host, _, _ := net.SplitHostPort(cfg.Addr)
		cfg.From = "scimd@" + host
	}
	return &Worker{cfg: cfg, db: db, now: time.Now, limits: map[int64]*rate.Limiter{}}
}

// Run delivers until ctx ends, then returns nil; a database that fails
// is logged and tried again at the next poll.
func (w *Worker) Run(ctx context.Context) error {
	if w.cfg.Addr == "" {
		w.cfg.Logger.Warn("no SMTP server configured (--smtp-addr): messages stay queued in the outbox until one is")
		<-ctx.Done()
		return nil
	}
	for {
		n, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.cfg.Logger.Error("outbox", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.cfg.Poll):
		}
	}
}

// RunOnce claims the messages due now and sends them, each tenant's in
// turn and in parallel with the others', and reports how many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	burst := max(1, int(math.Ceil(w.cfg.Rate)))
	msgs, err := w.db.ClaimMessages(ctx, w.now(), w.cfg.Lease, 10*burst, burst)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	byTenant := map[int64][]store.Message{}
	for _, m := range msgs {
		byTenant[m.TenantID] = append(byTenant[m.TenantID], m)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(byTenant))
	for tenant, list := range byTenant {
		wg.Go(func() {
			lim := w.limiter(tenant)
			for i, m := range list {
				if err := lim.Wait(ctx); err != nil {
					errs <- w.release(list[i:])
					return
				}
				if err := w.deliver(ctx, m); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return len(msgs), errors.Join(all...)
}

// release gives back messages claimed and not sent, as the worker stops.
func (w *Worker) release(msgs []store.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, m := range msgs {
		if err := w.db.Release(ctx, m.ID); err != nil {
			return err
		}
	}
	return nil
}

func (w *Worker) limiter(tenant int64) *rate.Limiter {
	w.mu.Lock()
	defer w.mu.Unlock()
	lim, ok := w.limits[tenant]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(w.cfg.Rate), max(1, int(math.Ceil(w.cfg.Rate))))
		w.limits[tenant] = lim
	}
	return lim
}

// deliver sends m and records the outcome; it returns only the
// database's errors.
func (w *Worker) deliver(ctx context.Context, m store.Message) error {
	err := w.send(m)
	// The outcome is recorded even when ctx ends: the message left.
	ctx = context.WithoutCancel(ctx)
	if err == nil {
		return w.db.MarkSent(ctx, m.ID, w.now())
	}
	final := m.Attempts >= w.cfg.MaxAttempts
	w.cfg.Logger.Warn("send failed", "message", m.ID, "kind", m.Kind, "attempt", m.Attempts, "final", final, "err", err)
	return w.db.MarkFailed(ctx, m.ID, err.Error(), w.now().Add(w.backoff(m.Attempts)), final)
}

// backoff is the wait after the attempts-th failure.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.cfg.Backoff
	for i := 1; i < attempts && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.cfg.MaxBackoff)
}

// send runs one SMTP conversation for m, within the timeout.
func (w *Worker) send(m store.Message) error {
	conn, err := net.DialTimeout("tcp", w.cfg.Addr, w.cfg.Timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(w.cfg.Timeout))
	host, _, _ := net.SplitHostPort(w.cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return err
		}
	}
	if w.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", w.cfg.Username, w.cfg.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(w.cfg.From); err != nil {
		return err
	}
	if err := c.Rcpt(m.Recipient); err != nil {
		return err
	}
	data, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := data.Write(w.format(m)); err != nil {
		return err
	}
	if err := data.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// format is m as an RFC 5322 message. Its Message-ID is the outbox row's,
// the same on a resend after a crash.
func (w *Worker) format(m store.Message) []byte {
	var b strings.Builder
	host := w.cfg.From[strings.LastIndexByte(w.cfg.From, '@')+1:]
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <outbox-%d-%d@%s>\r\n",
		w.cfg.From, m.Recipient, mime.QEncoding.Encode("utf-8", m.Subject), m.CreatedAt.Format(time.RFC1123Z), m.ID, m.CreatedAt.Unix(), host)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}
