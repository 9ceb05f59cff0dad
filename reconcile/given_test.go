package reconcile_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// givenConfig configures connector csv of tenant school; connector import
// is left unconfigured (a CSV connector made for a load).
const givenConfig = `
tenants:
  - name: school
    connectors:
      - name: csv
        allow:
          groups: [Student]
          roles: [student]
`

func givenWorld(t *testing.T, db *store.DB) *world {
	w := newWorld(t, db, givenConfig)
	w.tx(func(ctx context.Context, tx *store.Tx) error {
		var err error
		_, w.conns["import"], err = tx.EnsureConnector(ctx, "school", "import")
		return err
	})
	return w
}

func givenInput(w *world, conn, userName string, g *reconcile.Given) reconcile.Input {
	in := w.input(conn, reconcile.Upsert, "", user(userName))
	in.Source, in.Given = reconcile.SourceCSV, g
	return in
}

func column(field string) string { return "column " + field }

func TestGivenGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := givenWorld(t, db)
		w.group("Student")
		w.group("Class of 2027")
		w.role("student")

		t.Run("an unconfigured connector creates given roles on demand and revokes only what the column granted before", func(t *testing.T) {
			p := w.apply(givenInput(w, "import", "ada", &reconcile.Given{Roles: []string{"a", "b"}, Groups: []string{"Student"}, Rule: column}))
			id := p.User.ID
			if got, want := w.grants(id), []string{"group:Student", "role:a", "role:b"}; !slices.Equal(got, want) {
				t.Fatalf("grants %v, want %v", got, want)
			}
			if !slices.Contains(p.Fired, "column roles") {
				t.Fatalf("fired %v, want the column as a rule", p.Fired)
			}
			p = w.apply(givenInput(w, "import", "ada", &reconcile.Given{Roles: []string{"a", "c"}, Rule: column}))
			if got, want := w.grants(id), []string{"group:Student", "role:a", "role:c"}; !slices.Equal(got, want) {
				t.Fatalf("a|b then a|c: grants %v, want %v", got, want)
			}
			for _, c := range p.Grants {
				if c.Op == "remove" && (c.Name != "b" || c.Rule != "column roles") {
					t.Fatalf("removed %+v, want only role b of column roles", c)
				}
			}
			// Nil states nothing; empty states none.
			w.apply(givenInput(w, "import", "ada", &reconcile.Given{Rule: column}))
			if got, want := w.grants(id), []string{"group:Student", "role:a", "role:c"}; !slices.Equal(got, want) {
				t.Fatalf("no roles column: grants %v, want %v kept", got, want)
			}
			w.apply(givenInput(w, "import", "ada", &reconcile.Given{Roles: []string{}, Rule: column}))
			if got, want := w.grants(id), []string{"group:Student"}; !slices.Equal(got, want) {
				t.Fatalf("empty roles: grants %v, want %v", got, want)
			}
		})
		t.Run("an unconfigured connector's group must exist, and the error names it", func(t *testing.T) {
			w.refused(givenInput(w, "import", "bob", &reconcile.Given{Groups: []string{"Nowhere"}, Rule: column}), `"Nowhere" does not exist`)
			w.refused(givenInput(w, "import", "bob", &reconcile.Given{OrgUnit: new("/Nowhere/Else")}), `"Nowhere/Else" does not exist`)
		})
		t.Run("a cohort that does not exist is skipped, one that does is joined", func(t *testing.T) {
			p := w.apply(givenInput(w, "import", "cy", &reconcile.Given{Cohort: "Class of 2031"}))
			if len(p.Missing) != 1 || p.Missing[0].Name != "Class of 2031" || len(w.grants(p.User.ID)) != 0 {
				t.Fatalf("missing %+v, grants %v", p.Missing, w.grants(p.User.ID))
			}
			p = w.apply(givenInput(w, "import", "cy", &reconcile.Given{Cohort: "Class of 2027"}))
			if got, want := w.grants(p.User.ID), []string{"group:Class of 2027"}; !slices.Equal(got, want) {
				t.Fatalf("grants %v, want %v", got, want)
			}
		})
		t.Run("a configured connector's allow list applies to given grants", func(t *testing.T) {
			p := w.apply(givenInput(w, "csv", "dee", &reconcile.Given{Roles: []string{"student", "admin"}, Groups: []string{"Student"}}))
			if got, want := w.grants(p.User.ID), []string{"group:Student", "role:student"}; !slices.Equal(got, want) {
				t.Fatalf("grants %v, want %v", got, want)
			}
			if len(p.Denied) != 1 || p.Denied[0].Name != "admin" {
				t.Fatalf("denied %+v, want admin", p.Denied)
			}
		})
		t.Run("given status and access window act as a rule's, and nil keeps them", func(t *testing.T) {
			end := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			p := w.apply(givenInput(w, "import", "eve", &reconcile.Given{Status: store.StatusPending, AccessEnd: &end, Rule: column}))
			if p.User.Status != store.StatusPending || !p.User.AccessEnd.Equal(end) {
				t.Fatalf("status %q end %v", p.User.Status, p.User.AccessEnd)
			}
			p = w.apply(givenInput(w, "import", "eve", &reconcile.Given{}))
			if p.Action != "none" {
				t.Fatalf("nothing stated: action %s, changes %+v", p.Action, p.Changes)
			}
			w.refused(givenInput(w, "import", "eve", &reconcile.Given{Status: "gone"}), `status "gone"`)
		})
	})
}

func TestManagerByUserNameAndPasswordHash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := givenWorld(t, db)
		ctx := context.Background()
		boss := w.apply(givenInput(w, "import", "boss", nil))
		in := givenInput(w, "import", "worker", nil)
		in.ManagerUserName, in.PasswordHash = "BOSS", "$2a$10$abcdefghijklmnopqrstuu5Yw2hS8i9qZkqS0l3S2Rr6fVx0O9e2a"
		p := w.apply(in)
		ent, _ := p.User.Attrs[schemas.EnterpriseUserURN].(map[string]any)
		if m, _ := ent["manager"].(map[string]any); m["value"] != boss.User.ID {
			t.Fatalf("manager %v, want %s", ent["manager"], boss.User.ID)
		}
		hash := func() string {
			var h map[int64]string
			w.tx(func(ctx context.Context, tx *store.Tx) error {
				var err error
				h, err = tx.PasswordHashes(ctx, []int64{p.User.PK})
				return err
			})
			return h[p.User.PK]
		}
		if hash() != in.PasswordHash {
			t.Fatalf("stored hash %q", hash())
		}
		u, err := db.User(ctx, w.tenant.ID, 0, p.User.ID)
		if err != nil || u.PasswordHash != "" {
			t.Fatalf("read back: %v, hash %q (must never be read)", err, u.PasswordHash)
		}
		in.PasswordHash = ""
		w.apply(in)
		if hash() == "" {
			t.Fatalf("an update without a hash cleared it")
		}
		in.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
		w.apply(in)
		if hash() != in.PasswordHash {
			t.Fatalf("an update with a hash: stored %q", hash())
		}
		in.ManagerUserName = "nobody"
		w.refused(in, `the manager's userName "nobody" names no user`)
	})
}
