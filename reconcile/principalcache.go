package reconcile

import (
	"crypto/subtle"
	"sync"
	"time"

	"github.com/scimd/scimd/store"
)

// principalCache remembers who a token is, by the token's SHA-256 (never
// the token), so that a request is one round trip to the database rather
// than a token lookup and then its query. A principal enters it only
// after its token passed the constant-time check, and only while the
// store says a change would be noticed ([store.DB.PrincipalEpoch]: on
// PostgreSQL, while the server listens for the triggers' notifications;
// never on SQLite). Every entry belongs to the epoch it was read in; an
// epoch change (a notification, this process's own revocation, the
// listener dropping) empties the cache, so a revoked token is refused from
// the moment its notification arrives. The TTL is a backstop only, for a
// listener whose connection died silently between heartbeats.
type principalCache struct {
	mu      sync.Mutex
	epoch   uint64
	entries map[[32]byte]cachedPrincipal
}

type cachedPrincipal struct {
	p       store.Principal
	hash    [32]byte
	expires time.Time
}

const (
	// principalCacheSize bounds the cache: a connector has at most two
	// tokens, so this is far more tenants than one server holds.
	principalCacheSize = 4096
	principalTTL       = time.Minute
)

func (c *principalCache) get(hash [32]byte, epoch uint64, cacheable bool) (store.Principal, bool) {
	if !cacheable {
		return store.Principal{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		c.reset(epoch)
		return store.Principal{}, false
	}
	e, ok := c.entries[hash]
	if !ok || time.Now().After(e.expires) || subtle.ConstantTimeCompare(e.hash[:], hash[:]) != 1 {
		return store.Principal{}, false
	}
	return e.p, true
}

// put caches p, read in epoch, unless the epoch has moved on since.
func (c *principalCache) put(hash [32]byte, epoch uint64, p store.Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case epoch < c.epoch:
		return
	case epoch > c.epoch:
		c.reset(epoch)
	}
	if len(c.entries) >= principalCacheSize {
		for k := range c.entries { // any one: a miss costs one lookup
			delete(c.entries, k)
			break
		}
	}
	c.entries[hash] = cachedPrincipal{p: p, hash: hash, expires: time.Now().Add(principalTTL)}
}

func (c *principalCache) reset(epoch uint64) {
	if epoch < c.epoch {
		return // an older reader's epoch: keep the newer state
	}
	c.epoch = epoch
	clear(c.entries)
	if c.entries == nil {
		c.entries = map[[32]byte]cachedPrincipal{}
	}
}
