package reconcile_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

var impactDepts = []string{"Radiology", "Surgery", "Alumni", "HR", ""}

// randomRules is a configuration of tenant acme drawn from a small
// generator: which departments grant Faculty and an org unit, which are
// disabled, which titles get an access window.
func randomRules(rng *rand.Rand) string {
	pick := func() string {
		var ds []string
		for _, d := range impactDepts[:4] {
			if rng.IntN(2) == 0 {
				ds = append(ds, fmt.Sprintf("%q", d))
			}
		}
		if len(ds) == 0 {
			ds = append(ds, `"none"`)
		}
		return "[" + strings.Join(ds, ", ") + "]"
	}
	group := []string{"Faculty", "Staff"}[rng.IntN(2)]
	faculty := fmt.Sprintf(`
          - name: faculty
            if: department in %s
            orgUnit: "Medicine/${department}"
            groups: [%s]`, pick(), group)
	if rng.IntN(3) == 0 {
		faculty = "" // the rule deleted: what it granted is revoked
	}
	return fmt.Sprintf(`
tenants:
  - name: acme
    connectors:
      - name: okta
        create: {orgUnits: true}
        allow: {groups: [Faculty, Staff], orgUnits: [Medicine]}
        rules:%s
          - name: off
            if: department in %s
            status: disabled
          - name: window
            if: title == %q
            accessEnd: "2030-06-30"
`, faculty, pick(), []string{"Temp", "Dr", "none"}[rng.IntN(3)])
}

// impactWorld is a tenant of n users written through the rules of first.
func impactWorld(t *testing.T, db *store.DB, rng *rand.Rand, first string, n int) (*world, store.Principal) {
	w := newWorld(t, db, first)
	for _, g := range []string{"Faculty", "Staff"} {
		w.group(g)
	}
	for i := range n {
		w.apply(w.input("okta", reconcile.Create, fmt.Sprintf("x%d", i), user(fmt.Sprintf("u%d", i),
			"title", []string{"Temp", "Dr", ""}[rng.IntN(3)],
			schemas.EnterpriseUserURN, dept(impactDepts[rng.IntN(len(impactDepts))]))))
	}
	return w, store.Principal{TenantID: w.tenant.ID, TenantName: w.tenant.Name}
}

// stateNow is a user's status, window and grants as stored.
func stateNow(t *testing.T, w *world, id string) reconcile.UserState {
	u, err := w.db.User(context.Background(), w.tenant.ID, 0, id)
	if err != nil {
		t.Fatal(err)
	}
	g := w.grants(id)
	slices.Sort(g)
	return reconcile.UserState{Status: u.Status, AccessStart: u.AccessStart, AccessEnd: u.AccessEnd, Grants: g}
}

func allStates(t *testing.T, w *world) map[string]string {
	page, err := w.db.Users(context.Background(), store.Query{TenantID: w.tenant.ID, Count: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range page.Items {
		out[u.ID] = fmt.Sprintf("%+v", stateNow(t, w, u.ID))
	}
	return out
}

// TestImpactEqualsReapply: for random users and random rule edits, the
// impact report says, user for user, what the re-apply job then changes,
// and the job's audit events name it.
func TestImpactEqualsReapply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		defer reconcile.SetImpactPage(7)()
		rng := rand.New(rand.NewPCG(3, 4))
		w, by := impactWorld(t, db, rng, randomRules(rng), 40)
		for round := range 4 {
			next := randomRules(rng)
			impacts := map[string]reconcile.UserImpact{}
			rep, err := w.e.Impact(ctx, by, next, func(ui reconcile.UserImpact) { impacts[ui.UserID] = ui })
			if err != nil {
				t.Fatal(err)
			}
			if rep.Users != 40 || rep.Changed+rep.Failed != len(impacts) {
				t.Fatalf("round %d: report %+v for %d impacts", round, rep, len(impacts))
			}
			before := allStates(t, w)
			if _, err := w.e.SaveConfig(ctx, by, next, reconcile.AnyVersion); err != nil {
				t.Fatal(err)
			}
			j, _, err := w.e.StartReapply(ctx, by)
			if err != nil {
				t.Fatal(err)
			}
			if j, err = w.e.RunReapply(ctx, by, j.ID, nil); err != nil || j.State != store.ReapplyDone {
				t.Fatalf("round %d: job %+v, %v", round, j, err)
			}
			if j.UsersDone != 40 || j.UsersChanged != int64(rep.Changed) || j.UsersFailed != int64(rep.Failed) {
				t.Fatalf("round %d: job counts %+v, report %+v", round, j, rep)
			}
			for id, was := range before {
				now := fmt.Sprintf("%+v", stateNow(t, w, id))
				ui, ok := impacts[id]
				switch {
				case !ok && now != was:
					t.Fatalf("round %d: user %s changed %s → %s, the report said nothing", round, id, was, now)
				case ok && ui.Error == "" && now != fmt.Sprintf("%+v", ui.After):
					t.Fatalf("round %d: user %s is %s, the report said %+v", round, id, now, ui.After)
				case ok && fmt.Sprintf("%+v", ui.Before) != was:
					t.Fatalf("round %d: user %s was %s, the report said %+v", round, id, was, ui.Before)
				}
				if ok && ui.Error == "" {
					events, err := db.AuditEvents(ctx, w.tenant.ID, id)
					if err != nil {
						t.Fatal(err)
					}
					last := events[len(events)-1]
					if last.Action != "reapply" || last.Detail["job"] != j.ID {
						t.Fatalf("round %d: user %s's last event %+v does not name job %s", round, id, last, j.ID)
					}
				}
			}
			if again, err := w.e.Impact(ctx, by, next, nil); err != nil || again.Changed != 0 {
				t.Fatalf("round %d: after the job the same rules still change %+v, %v", round, again, err)
			}
		}
	})
}

// TestReapplyResumes: a job stopped between batches (its context
// cancelled, as a kill stops it after a commit) resumes after the last
// batch it committed, and ends where an uninterrupted run ends.
func TestReapplyResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		defer reconcile.SetImpactPage(5)()
		rng := rand.New(rand.NewPCG(5, 6))
		first, next := randomRules(rng), randomRules(rng)
		w, by := impactWorld(t, db, rng, first, 30)
		want := map[string]reconcile.UserImpact{}
		if _, err := w.e.Impact(t.Context(), by, next, func(ui reconcile.UserImpact) { want[ui.UserID] = ui }); err != nil {
			t.Fatal(err)
		}
		if _, err := w.e.SaveConfig(t.Context(), by, next, reconcile.AnyVersion); err != nil {
			t.Fatal(err)
		}
		j, _, err := w.e.StartReapply(t.Context(), by)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		batches := 0
		_, err = w.e.RunReapply(ctx, by, j.ID, func(store.ReapplyJob) {
			if batches++; batches == 3 {
				cancel()
			}
		})
		if err == nil {
			t.Fatal("a cancelled job ended")
		}
		stopped, err := db.ReapplyJob(t.Context(), w.tenant.ID, j.ID)
		if err != nil || stopped.FinishedAt != nil || stopped.UsersDone != 10 {
			t.Fatalf("stopped job %+v (%v), want 10 users done, unfinished", stopped, err)
		}
		again, resumed, err := w.e.StartReapply(t.Context(), by)
		if err != nil || !resumed || again.ID != j.ID {
			t.Fatalf("start after the stop: %+v resumed %v, %v", again, resumed, err)
		}
		done, err := w.e.RunReapply(t.Context(), by, j.ID, nil)
		if err != nil || done.State != store.ReapplyDone || done.UsersDone != 30 || done.UsersChanged != int64(len(want)) {
			t.Fatalf("resumed job %+v, %v; want 30 users, %d changed", done, err, len(want))
		}
		for id, ui := range want {
			if ui.Error != "" {
				continue
			}
			if got := stateNow(t, w, id); fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", ui.After) {
				t.Fatalf("user %s is %+v after the resumed job, want %+v", id, got, ui.After)
			}
			events, err := db.AuditEvents(t.Context(), w.tenant.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range events {
				if e.Action == "reapply" {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("user %s has %d reapply events, want 1: a batch ran twice or not at all", id, n)
			}
		}
	})
}
