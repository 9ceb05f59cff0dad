package scim

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/scimd/scimd/store"
)

// maxLimiters bounds the connectors whose buckets are kept. A bucket that
// has filled up again is the same as a new one, so the sweep that runs at
// this size forgets those and loses nothing; only connectors sending right
// now stay. Connectors are rows of the database, so the map cannot grow
// past them whatever a client sends: it takes a valid token to get a
// bucket.
const maxLimiters = 10_000

// limiters is a token bucket per (tenant, connector): one connector
// sending too fast gets 429s while the others of its tenant, and every
// other tenant, go on. The buckets are per process (per replica).
type limiters struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[[2]int64]*rate.Limiter
}

func newLimiters(perSecond float64, burst int) *limiters {
	if perSecond <= 0 {
		return nil
	}
	return &limiters{limit: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[[2]int64]*rate.Limiter{}}
}

// wait is how long p must wait before its next request is served, 0 when
// it may go now (and then the request spent a token).
func (l *limiters) wait(p store.Principal, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	key := [2]int64{p.TenantID, p.ConnectorID}
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimiters {
			l.sweep(now)
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	res := b.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	if delay > 0 {
		res.CancelAt(now) // a refused request spends no token
	}
	return delay
}

// sweep forgets the buckets that are full again. l.mu is held.
func (l *limiters) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}

// tooMany answers 429 (RFC 6585) with a SCIM error and Retry-After, in
// whole seconds rounded up, at least 1.
func tooMany(w http.ResponseWriter, delay time.Duration, l *limiters) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(delay.Seconds())))))
	writeError(w, newError(http.StatusTooManyRequests, "",
		"this connector sent more than %g requests a second (bursts of %d); retry after the seconds in Retry-After", float64(l.limit), l.burst))
}
