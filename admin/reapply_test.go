package admin_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// hr grants Faculty to HR instead of Cardiology.
const hr = `
tenants:
  - name: acme
    connectors:
      - name: okta
        allow: {groups: [Faculty]}
        rules:
          - name: hr
            if: department == "HR"
            groups: [Faculty]
`

// TestImpactThenReapply: the impact of a rule edit, asked for and then
// answered by PUT /config, counts what the re-apply job then changes.
func TestImpactThenReapply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv, e := server(t, db, 0)
		wide := token(t, e, "admins", "")
		token(t, e, "okta", "-")
		p, err := db.ConnectorPrincipal(ctx, "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			if _, err := tx.EnsureOrgUnit(ctx, p.TenantID, "Medicine/Cardiology"); err != nil {
				return err
			}
			return tx.InsertGroup(ctx, &store.Group{TenantID: p.TenantID, DisplayName: "Faculty", Attrs: map[string]any{"displayName": "Faculty"}})
		}); err != nil {
			t.Fatal(err)
		}
		depts := []string{"HR", "Cardiology", "HR", "Sales", "HR"}
		for i, d := range depts {
			_, err := e.Apply(ctx, reconcile.Input{Source: reconcile.SourceSCIM, Principal: p, Kind: reconcile.KindUser, Op: reconcile.Create,
				Attrs: map[string]any{"userName": fmt.Sprintf("u%d@example.com", i), schemas.EnterpriseUserURN: map[string]any{"department": d}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		api := srv.URL + "/admin/v1/acme"
		status, rep, _ := call(t, "POST", api+"/config/impact", wide, hr)
		// Three HR users gain Faculty; the cardiologist loses the unit and Faculty.
		if status != 200 || rep["users"] != 5.0 || rep["changed"] != 4.0 ||
			fmt.Sprint(rep["byRule"]) != "map[cardiology:map[added:0 revoked:2] hr:map[added:3 revoked:0]]" {
			t.Fatalf("impact: %d %v", status, rep)
		}
		if status, _, _ := call(t, "GET", api+"/config", wide, ""); status != 404 {
			t.Fatalf("the impact saved the configuration: %d", status)
		}
		status, saved, _ := call(t, "PUT", api+"/config", wide, hr)
		if status != 200 || fmt.Sprint(saved["impact"]) != fmt.Sprint(rep) {
			t.Fatalf("PUT /config: %d %v, want the impact %v", status, saved, rep)
		}
		status, job, _ := call(t, "POST", api+"/reapply", wide, "")
		if status != 202 || job["state"] != store.ReapplyRunning {
			t.Fatalf("POST /reapply: %d %v", status, job)
		}
		deadline := time.Now().Add(20 * time.Second)
		for job["state"] == store.ReapplyRunning && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			_, job, _ = call(t, "GET", api+"/reapply/"+job["id"].(string), wide, "")
		}
		if job["state"] != store.ReapplyDone || job["usersDone"] != 5.0 || job["usersChanged"] != 4.0 {
			t.Fatalf("job %v", job)
		}
		if _, again, _ := call(t, "POST", api+"/config/impact", wide, hr); again["changed"] != 0.0 {
			t.Fatalf("after the job the rules still change %v", again)
		}
		if status, _, _ := call(t, "GET", api+"/reapply/00000000-0000-0000-0000-000000000000", wide, ""); status != 404 {
			t.Fatalf("an unknown job: %d", status)
		}
	})
}
