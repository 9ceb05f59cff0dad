package reconcile_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// clock is a test's time, moved on by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const sessionsConfig = `
tenants:
  - name: acme
    connectors:
      - name: okta
        rules:
          - name: alumni
            if: department == "Alumni"
            status: disabled
          - name: leavers
            if: '"Leavers" in groups'
            status: disabled
      - name: oidc
`

// sessionWorld is a world whose engine reads a test clock, with a user
// pushed by okta.
func sessionWorld(t *testing.T, db *store.DB) (*world, *clock, *store.User) {
	w := newWorld(t, db, sessionsConfig)
	c := &clock{t: time.Now().UTC()}
	w.e.SetClock(c.now)
	w.e.SetSessionLifetimes(30*time.Minute, 8*time.Hour)
	p := w.apply(w.input("okta", reconcile.Create, "00u1", user("ann@example.com")))
	return w, c, p.User
}

func (w *world) start(u *store.User) reconcile.IssuedSession {
	w.t.Helper()
	s, err := w.e.StartSession(context.Background(), reconcile.SessionStart{TenantID: w.tenant.ID, ConnectorID: w.conns["oidc"].ID, UserID: u.ID})
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// refusedSession checks that the session of secret lets no one in, for
// the reason given (a SessionError's or a SignInError's).
func (w *world) refusedSession(secret, reason string) {
	w.t.Helper()
	_, err := w.e.Session(context.Background(), "acme", secret)
	var se *reconcile.SessionError
	var ie *reconcile.SignInError
	switch {
	case errors.As(err, &se) && se.Reason == reason, errors.As(err, &ie) && ie.Reason == reason:
	default:
		w.t.Errorf("session: %v, want it refused (%s)", err, reason)
	}
}

func (w *world) live(secret string) reconcile.LiveSession {
	w.t.Helper()
	s, err := w.e.Session(context.Background(), "acme", secret)
	if err != nil {
		w.t.Fatalf("session: %v, want it live", err)
	}
	return s
}

// TestSessionLifetimes: a session lives until it is idle for the idle
// lifetime or reaches its absolute one, whichever comes first; using it
// moves the idle expiry on, writing at most once a minute.
func TestSessionLifetimes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w, c, ann := sessionWorld(t, db)
		s := w.start(ann)
		if len(s.Secret) != 43 || s.ExpiresAt.Sub(s.CreatedAt) != 8*time.Hour || s.IdleExpiresAt.Sub(s.CreatedAt) != 30*time.Minute {
			t.Fatalf("issued %+v", s)
		}
		if ls := w.live(s.Secret); ls.UserID != ann.ID || ls.TenantName != "acme" || ls.ConnectorName != "oidc" {
			t.Fatalf("live session %+v", ls)
		}
		// Within a minute of the last write, a use is one read.
		statements := db.CountStatements()
		c.add(30 * time.Second)
		before := statements.Load()
		w.live(s.Secret)
		if n := statements.Load() - before; n != 1 {
			t.Errorf("a use within a minute: %d statements, want 1 (the read)", n)
		}
		// Used every 20 minutes, it outlives the 30-minute idle lifetime...
		for range 5 {
			c.add(20 * time.Minute)
			w.live(s.Secret)
		}
		// ...but left 30 minutes, it is idle.
		c.add(30 * time.Minute)
		w.refusedSession(s.Secret, "idle")

		// The absolute lifetime holds however often it is used.
		s = w.start(ann)
		for range 8*3 - 1 {
			c.add(20 * time.Minute)
			w.live(s.Secret)
		}
		c.add(20 * time.Minute)
		w.refusedSession(s.Secret, "expired")

		w.refusedSession("", "none")
		w.refusedSession("not-a-session", "unknown")
		w.refusedSession("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "unknown")
	})
}

// TestDeprovisioningEndsSessions: a disable (SCIM's active=false, a rule
// setting status, a rule firing on a group push) or a delete ends every
// live session of the user in the same write, with an audit event; a
// write that does not disable leaves them.
func TestDeprovisioningEndsSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w, _, ann := sessionWorld(t, db)
		ctx := context.Background()
		one, two := w.start(ann), w.start(ann)
		w.apply(withID(w.input("okta", reconcile.Replace, "00u1", user("ann@example.com", "title", "Nurse")), ann.ID))
		w.live(one.Secret)

		w.apply(withID(w.input("okta", reconcile.Replace, "00u1", user("ann@example.com", "active", false)), ann.ID))
		w.refusedSession(one.Secret, "ended")
		w.refusedSession(two.Secret, "ended")
		events, _ := db.AuditEvents(ctx, w.tenant.ID, ann.ID)
		last := events[len(events)-1]
		if last.Action != "session-end" || last.Source != "scim" || last.Detail["reason"] != reconcile.EndUserDisable || last.Detail["sessions"] != float64(2) {
			t.Errorf("last event %+v, want the two sessions ended by the disable", last)
		}
		// Active again, the old sessions stay ended: sign in again.
		w.apply(withID(w.input("okta", reconcile.Replace, "00u1", user("ann@example.com")), ann.ID))
		w.refusedSession(one.Secret, "ended")

		// A rule setting status disabled.
		s := w.start(ann)
		w.apply(withID(w.input("okta", reconcile.Replace, "00u1", user("ann@example.com", schemas.EnterpriseUserURN, dept("Alumni"))), ann.ID))
		w.refusedSession(s.Secret, "ended")
		w.apply(withID(w.input("okta", reconcile.Replace, "00u1", user("ann@example.com")), ann.ID))

		// A rule reading groups, fired by a group push.
		s = w.start(ann)
		w.apply(w.groupInput("okta", reconcile.Create, "", map[string]any{"displayName": "Leavers"}, ann.ID))
		w.refusedSession(s.Secret, "ended")
		if u, _ := db.User(ctx, w.tenant.ID, 0, ann.ID); u.Status != store.StatusDisabled {
			t.Fatalf("after the Leavers push: %s", u.Status)
		}
		events, _ = db.AuditEvents(ctx, w.tenant.ID, ann.ID)
		if last := events[len(events)-1]; last.Action != "session-end" || last.Detail["sessions"] != float64(1) {
			t.Errorf("last event after the push %+v, want one session ended", last)
		}

		// A delete.
		bob := w.apply(w.input("okta", reconcile.Create, "00u2", user("bob@example.com"))).User
		s = w.start(bob)
		w.apply(withID(w.input("okta", reconcile.Delete, "", nil), bob.ID))
		w.refusedSession(s.Secret, "ended")
		events, _ = db.AuditEvents(ctx, w.tenant.ID, bob.ID)
		var ended bool
		for _, e := range events {
			ended = ended || e.Action == "session-end" && e.Detail["reason"] == reconcile.EndUserDelete
		}
		if !ended {
			t.Errorf("bob's events %+v: no session-end for the delete", events)
		}
	})
}

// TestDisableCostsOneStatement: ending a user's sessions costs a disable
// one statement (more only when it ended some: their event), and a write
// that does not disable nothing.
func TestDisableCostsOneStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w, _, ann := sessionWorld(t, db)
		bob := w.apply(w.input("okta", reconcile.Create, "00u2", user("bob@example.com"))).User
		statements := db.CountStatements()
		count := func(u *store.User, attrs map[string]any) int64 {
			before := statements.Load()
			w.apply(withID(w.input("okta", reconcile.Replace, u.ExternalID, attrs), u.ID))
			return statements.Load() - before
		}
		title := count(ann, user("ann@example.com", "title", "Nurse"))
		disable := count(bob, user("bob@example.com", "active", false))
		if disable != title+1 {
			t.Errorf("a disable costs %d statements, a title change %d; want one more for the disable", disable, title)
		}
	})
}

// TestSignInRules: who may sign in now, and why not.
func TestSignInRules(t *testing.T) {
	now := time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		u    *store.User
		want string
	}{
		{"active", &store.User{Status: store.StatusActive}, ""},
		{"pending activation (the first login activates)", &store.User{Status: store.StatusPending}, ""},
		{"disabled", &store.User{Status: store.StatusDisabled}, reconcile.RefusedDisabled},
		{"deleted", nil, reconcile.RefusedDeleted},
		{"before the window", &store.User{Status: store.StatusActive, AccessStart: now.Add(time.Second)}, reconcile.RefusedNotYet},
		{"at its start", &store.User{Status: store.StatusActive, AccessStart: now}, ""},
		{"inside", &store.User{Status: store.StatusActive, AccessStart: now.Add(-time.Hour), AccessEnd: now.Add(time.Second)}, ""},
		{"at its finish", &store.User{Status: store.StatusActive, AccessEnd: now}, reconcile.RefusedExpired},
		{"disabled and outside", &store.User{Status: store.StatusDisabled, AccessEnd: now.Add(-time.Hour)}, reconcile.RefusedDisabled},
	} {
		err := reconcile.MaySignIn(c.u, now)
		var ie *reconcile.SignInError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused (%v)", c.name, err)
		case c.want != "" && (!errors.As(err, &ie) || ie.Reason != c.want || ie.Msg == ""):
			t.Errorf("%s: %v, want refused as %s", c.name, err, c.want)
		}
	}
}

// TestSessionRefusals: a session does not start for a user who may not
// sign in, and a live one stops letting them in once their access window
// closes; one of tenant acme is refused at another tenant; logout and an
// administrator end sessions, each with its audit event.
func TestSessionRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w, c, ann := sessionWorld(t, db)
		ctx := context.Background()
		gus := w.apply(w.input("okta", reconcile.Create, "00u3", user("gus@example.com", schemas.EnterpriseUserURN, dept("Alumni")))).User
		_, err := w.e.StartSession(ctx, reconcile.SessionStart{TenantID: w.tenant.ID, ConnectorID: w.conns["oidc"].ID, UserID: gus.ID})
		var ie *reconcile.SignInError
		if !errors.As(err, &ie) || ie.Reason != reconcile.RefusedDisabled {
			t.Errorf("a disabled user's session: %v", err)
		}
		if list, _ := db.UserSessions(ctx, w.tenant.ID, gus.ID, 10); len(list) != 0 {
			t.Errorf("a refused start wrote %+v", list)
		}

		if _, err := w.e.StartSession(ctx, reconcile.SessionStart{TenantID: w.tenant.ID, ConnectorID: w.conns["oidc"].ID + 1000, UserID: ann.ID}); err == nil {
			t.Error("a session started by a connector of no tenant of the user's")
		}
		s := w.start(ann)
		if _, err := w.e.Session(ctx, "globex", s.Secret); err == nil {
			t.Error("acme's session let in at tenant globex")
		}
		// The access window closes while the session lives.
		w.tx(func(ctx context.Context, tx *store.Tx) error {
			u, err := tx.User(ctx, w.tenant.ID, 0, ann.ID)
			if err != nil {
				return err
			}
			u.AccessEnd = c.now().Add(time.Minute)
			return tx.UpdateUser(ctx, &u)
		})
		w.live(s.Secret)
		c.add(2 * time.Minute)
		w.refusedSession(s.Secret, reconcile.RefusedExpired)
		w.tx(func(ctx context.Context, tx *store.Tx) error {
			u, err := tx.User(ctx, w.tenant.ID, 0, ann.ID)
			if err != nil {
				return err
			}
			u.AccessEnd = time.Time{}
			return tx.UpdateUser(ctx, &u)
		})
		w.live(s.Secret)

		// Logout, twice.
		if ended, err := w.e.EndSession(ctx, "acme", s.Secret); err != nil || !ended {
			t.Errorf("logout: %v %v", ended, err)
		}
		if ended, err := w.e.EndSession(ctx, "acme", s.Secret); err != nil || ended {
			t.Errorf("a second logout: %v %v, want nothing to end", ended, err)
		}
		w.refusedSession(s.Secret, "ended")

		// An administrator ends them all.
		a, b := w.start(ann), w.start(ann)
		by := store.Principal{TenantID: w.tenant.ID, TenantName: "acme"}
		if n, err := w.e.EndUserSessions(ctx, by, ann.ID); err != nil || n != 2 {
			t.Errorf("end all: %d %v, want 2", n, err)
		}
		w.refusedSession(a.Secret, "ended")
		w.refusedSession(b.Secret, "ended")
		if _, err := w.e.EndUserSessions(ctx, store.Principal{TenantID: w.tenant.ID + 1000}, ann.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant ends ann's sessions: %v", err)
		}

		var actions []string
		events, _ := db.AuditEvents(ctx, w.tenant.ID, ann.ID)
		for _, e := range events {
			if e.Action == "session-start" || e.Action == "session-end" {
				actions = append(actions, e.Source+":"+e.Action)
			}
		}
		want := []string{"oidc:session-start", "oidc:session-end", "oidc:session-start", "oidc:session-start", "cli:session-end"}
		if len(actions) != len(want) {
			t.Fatalf("session events %v, want %v", actions, want)
		}
		for i := range want {
			if actions[i] != want[i] {
				t.Fatalf("session events %v, want %v", actions, want)
			}
		}
	})
}

// TestConcurrentUses: many requests of one session at once, as a page's
// parallel fetches are, all get in, also when each finds it due to be
// seen again.
func TestConcurrentUses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w, c, ann := sessionWorld(t, db)
		s := w.start(ann)
		for range 3 {
			c.add(2 * time.Minute)
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			for range 32 {
				wg.Go(func() {
					if _, err := w.e.Session(context.Background(), "acme", s.Secret); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("a concurrent use: %v", err)
			}
		}
		list, _ := db.UserSessions(context.Background(), w.tenant.ID, ann.ID, 1)
		if want := c.now().Truncate(time.Microsecond); len(list) != 1 || !list[0].LastSeenAt.Equal(want) {
			t.Errorf("last seen %v, want %v", list, want)
		}
	})
}
