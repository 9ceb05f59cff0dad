package rules

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DeletionGuard is a connector's threshold on deactivations plus
// deletions within a sliding window: a write that would cross it is held
// for an administrator instead of applied (reconcile/guard.go).
type DeletionGuard struct {
	// Count is the most writes allowed per Window; 0: no count limit.
	Count int
	// Percent is the most writes allowed per Window as a percentage of
	// the connector's users; 0: no percentage limit. With both set, the
	// lower limit holds.
	Percent float64
	// Window is the sliding window; never zero (default one hour).
	Window time.Duration
	// Notify are the addresses told, once per hold, that writes are held.
	Notify []string
}

// Limit is how many deactivations and deletions the guard allows per
// window for a connector with users users: the lower of Count and
// Percent of users (rounded down, at least 1).
func (g *DeletionGuard) Limit(users int) int {
	limit := -1
	if g.Count > 0 {
		limit = g.Count
	}
	if g.Percent > 0 {
		// At least one: a small connector's first deactivation of a
		// window is not held for a percentage that rounds to none.
		p := max(1, int(float64(users)*g.Percent/100))
		if limit < 0 || p < limit {
			limit = p
		}
	}
	return limit
}

// deletionGuard reads a connector's deletionGuard.
func (l *loader) deletionGuard(n *yaml.Node) *DeletionGuard {
	m := l.mapping(n, "deletionGuard")
	if m == nil {
		return nil
	}
	g := &DeletionGuard{Window: time.Hour}
	if cn := m["count"]; present(l.resolve(cn)) {
		v, err := strconv.Atoi(l.str(cn, "deletionGuard.count"))
		if err != nil || v < 1 {
			l.add(cn, "deletionGuard.count must be a whole number of at least 1", "e.g. count: 50")
		}
		g.Count = v
	}
	if pn := m["percent"]; present(l.resolve(pn)) {
		v, err := strconv.ParseFloat(strings.TrimSuffix(l.str(pn, "deletionGuard.percent"), "%"), 64)
		if err != nil || v <= 0 || v > 100 {
			l.add(pn, "deletionGuard.percent must be a number above 0 and at most 100", "e.g. percent: 10")
		}
		g.Percent = v
	}
	if !present(l.resolve(m["count"])) && !present(l.resolve(m["percent"])) {
		l.add(l.resolve(n), "deletionGuard sets neither count nor percent", "e.g. deletionGuard: {count: 50, percent: 10, window: 1h}")
	}
	if wn := m["window"]; present(l.resolve(wn)) {
		d, err := time.ParseDuration(l.str(wn, "deletionGuard.window"))
		if err != nil || d < time.Minute {
			l.add(wn, "deletionGuard.window must be a duration of at least 1m", "e.g. window: 1h, or 30m")
		} else {
			g.Window = d
		}
	}
	for _, an := range l.seq(m["notify"], "deletionGuard.notify") {
		a := strings.TrimSpace(l.str(an, "a deletionGuard.notify address"))
		if addr, err := mail.ParseAddress(a); err != nil || addr.Address != a {
			l.add(an, fmt.Sprintf("deletionGuard.notify %q is not an email address", a), "write a bare address, e.g. it@acme.org")
			continue
		}
		g.Notify = append(g.Notify, a)
	}
	return g
}
