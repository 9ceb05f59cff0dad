package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store/storetest"
)

// TestRequestLogAndReplay drives a connector's SCIM requests through a
// real server with the request log on, then reads the log through the
// admin API and the CLI and replays requests: each replay is the plan
// that Engine.Plan makes of the same payload now, writes nothing, and
// after a rule change shows the new rule.
func TestRequestLogAndReplay(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		okta := newToken(t, dsn, "acme", "okta")
		adminToken := newToken(t, dsn, "acme", "admins", "--admin")
		probe := newToken(t, dsn, "acme", "probe") // reads, logged as its own
		db := storetest.Open(t, dsn)
		engine := reconcile.New(db, nil)
		reqlog := engine.StartRequestLog(reconcile.RequestLogConfig{})
		defer reqlog.Close(ctx)
		srv := httptest.NewServer(loggedRoutes(db, engine, "", 1<<20, 0, slog.New(slog.DiscardHandler), reqlog, limits{}))
		defer srv.Close()
		do := func(method, path, token, body string, want int) string {
			t.Helper()
			status, got := call(t, method, srv.URL+path, token, body)
			if status != want {
				t.Fatalf("%s %s: %d %s, want %d", method, path, status, got, want)
			}
			return got
		}
		do("PUT", "/admin/v1/acme/config", adminToken, radiologyConfig, 200)

		withPassword := strings.Replace(radiologist, `"userName"`, `"password":"S3cret-1","userName"`, 1)
		var created struct{ ID string }
		json.Unmarshal([]byte(do("POST", "/scim/v2/acme/Users", okta, withPassword, 201)), &created)
		put := strings.Replace(withPassword, `"externalId"`, `"displayName":"Rad Ann","externalId"`, 1)
		do("PUT", "/scim/v2/acme/Users/"+created.ID, okta, put, 200)
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"replace","path":"displayName","value":"R. Ann"},{"op":"replace","path":"password","value":"Hunter2-2"}]}`
		do("PATCH", "/scim/v2/acme/Users/"+created.ID, okta, patch, 200)
		var other struct{ ID string }
		bob := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@example.com","externalId":"00u8","displayName":"Bob"}`
		json.Unmarshal([]byte(do("POST", "/scim/v2/acme/Users", okta, bob, 201)), &other)
		do("DELETE", "/scim/v2/acme/Users/"+other.ID, okta, "", 204)
		do("GET", "/scim/v2/acme/Users?filter=userName%20eq%20%22rad@example.com%22", okta, "", 200)
		if err := reqlog.Flush(ctx); err != nil {
			t.Fatal(err)
		}

		// The log, newest first, a page at a time.
		type logged struct {
			ID            int64
			Method, Path  string
			Status        int
			LatencyMicros int64
			Plans         []reconcile.RecordedSummary
		}
		var all []logged
		for before := ""; ; {
			var page struct {
				Requests []logged
				Next     string
			}
			json.Unmarshal([]byte(do("GET", "/admin/v1/acme/connectors/okta/requests?limit=4"+before, adminToken, "", 200)), &page)
			all = append(all, page.Requests...)
			if page.Next == "" {
				break
			}
			before = "&before=" + page.Next
		}
		var seen []string
		for i, r := range all {
			seen = append(seen, r.Method+" "+strconv.Itoa(r.Status))
			if i > 0 && r.ID >= all[i-1].ID || r.LatencyMicros <= 0 {
				t.Errorf("request %d: id %d after %d, latency %dµs", i, r.ID, all[i-1].ID, r.LatencyMicros)
			}
		}
		if got, want := strings.Join(seen, ", "), "GET 200, DELETE 204, POST 201, PATCH 200, PUT 200, POST 201"; got != want {
			t.Fatalf("logged %s, want %s", got, want)
		}
		if len(all[0].Plans) != 0 || len(all[5].Plans) != 1 || all[5].Plans[0].Plan == nil || all[5].Plans[0].Plan.Action != "create" {
			t.Fatalf("plans: GET %v, first POST %+v", all[0].Plans, all[5].Plans)
		}
		byMethod := map[string]logged{"POST": all[5], "PUT": all[4], "PATCH": all[3], "POST bob": all[2], "DELETE": all[1]}
		for _, r := range all {
			one := do("GET", "/admin/v1/acme/connectors/okta/requests/"+strconv.FormatInt(r.ID, 10), adminToken, "", 200)
			if strings.Contains(one, "S3cret") || strings.Contains(one, "Hunter2") {
				t.Fatalf("the log kept a password: %s", one)
			}
			if r.Method == "PATCH" && !strings.Contains(one, `R. Ann`) {
				t.Fatalf("the PATCH's body was not kept: %s", one)
			}
		}
		do("GET", "/admin/v1/acme/connectors/okta/requests/"+strconv.FormatInt(all[0].ID+1000, 10), adminToken, "", 404)

		// Replays, each against Engine.Plan of the same payload now.
		p, err := db.ConnectorPrincipal(ctx, "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		userInput := func(op reconcile.Op, id, body string) reconcile.Input {
			var doc map[string]any
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatal(err)
			}
			ext, _ := doc["externalId"].(string)
			for _, k := range []string{"schemas", "externalId", "password"} {
				delete(doc, k)
			}
			return reconcile.Input{Source: reconcile.SourceSCIM, Principal: p, Kind: reconcile.KindUser, Op: op, ID: id, Attrs: doc, ExternalID: ext}
		}
		// Engine.Plan's summary as the log and a replay show it: the value
		// of a change of password removed (a PATCH of password reaches the
		// user's document).
		planned := func(in reconcile.Input) string {
			plan, err := engine.Plan(ctx, in)
			ss := reconcile.Summaries([]reconcile.Recorded{{Plan: plan, Err: err}})
			for _, s := range ss {
				if s.Plan == nil {
					continue
				}
				for i, c := range s.Plan.Changes {
					if c.Attribute == "password" && c.Before != nil {
						s.Plan.Changes[i].Before = "(removed)"
					}
					if c.Attribute == "password" && c.After != nil {
						s.Plan.Changes[i].After = "(removed)"
					}
				}
			}
			return mustJSON(t, ss)
		}
		type replayed struct {
			Request int64
			Status  int
			Plans   json.RawMessage
		}
		// What a write would change: the users a list shows, the users'
		// versions and audit events, and the log itself.
		counts := func() string {
			t.Helper()
			var list struct{ TotalResults int }
			json.Unmarshal([]byte(do("GET", "/scim/v2/acme/Users", probe, "", 200)), &list)
			n, err := db.CountRequests(ctx, p.TenantID, p.ConnectorID)
			if err != nil {
				t.Fatal(err)
			}
			out := strconv.Itoa(list.TotalResults) + " users, " + strconv.FormatInt(n, 10) + " requests"
			for _, id := range []string{created.ID, other.ID} {
				evs, err := db.AuditEvents(ctx, p.TenantID, id)
				if err != nil {
					t.Fatal(err)
				}
				u, _ := db.User(ctx, p.TenantID, 0, id)
				out += ", " + strconv.Itoa(len(evs)) + " events and version " + strconv.FormatInt(u.Version, 10)
			}
			return out
		}
		replay := func(method string) replayed {
			t.Helper()
			before := counts()
			var r replayed
			json.Unmarshal([]byte(do("POST", "/admin/v1/acme/connectors/okta/requests/"+strconv.FormatInt(byMethod[method].ID, 10)+"/replay", adminToken, "", 200)), &r)
			reqlog.Flush(ctx)
			if after := counts(); after != before {
				t.Fatalf("replay of %s wrote: %s before, %s after", method, before, after)
			}
			return r
		}
		for method, want := range map[string]string{
			"POST": planned(userInput(reconcile.Create, "", withPassword)),
			// bob is deleted now: his POST would create him again.
			"POST bob": planned(userInput(reconcile.Create, "", bob)),
			"PUT":      planned(userInput(reconcile.Replace, created.ID, put)),
			"DELETE":   planned(reconcile.Input{Source: reconcile.SourceSCIM, Principal: p, Kind: reconcile.KindUser, Op: reconcile.Delete, ID: other.ID}),
		} {
			got := replay(method)
			if compactJSON(t, got.Plans) != want {
				t.Errorf("replay of %s (status %d):\n%s\nwant Engine.Plan's\n%s", method, got.Status, got.Plans, want)
			}
		}
		if got := replay("POST bob"); got.Status != 201 || !strings.Contains(string(got.Plans), `"action": "create"`) {
			t.Errorf("replay of bob's POST, bob deleted since: %d %s", got.Status, got.Plans)
		} else {
			var preview reconcile.Summary
			json.Unmarshal([]byte(do("POST", "/admin/v1/acme/connectors/okta/preview", adminToken, bob, 200)), &preview)
			var plans []reconcile.RecordedSummary
			json.Unmarshal(got.Plans, &plans)
			if mustJSON(t, plans) != mustJSON(t, []reconcile.RecordedSummary{{Plan: &preview}}) {
				t.Errorf("replay of bob's POST:\n%s\nthe admin preview of his payload:\n%s", mustJSON(t, plans), mustJSON(t, preview))
			}
		}
		// The PATCH made the user what it says: now its displayName
		// changes nothing, and the rule still fires.
		if got := replay("PATCH"); got.Status != 200 || !strings.Contains(compactJSON(t, got.Plans), `"fired":["radiology"]`) || strings.Contains(string(got.Plans), `"displayName",`) {
			t.Errorf("replay of PATCH: %d %s", got.Status, got.Plans)
		}

		// What would it do now: after a rule change, the new rule's plan,
		// as the admin preview shows it for the same payload.
		v2 := strings.Replace(radiologyConfig, "orgUnit: Medicine/Radiology", "orgUnit: Medicine/Imaging", 1)
		do("PUT", "/admin/v1/acme/config", adminToken, v2, 200)
		got := replay("PUT")
		if want := planned(userInput(reconcile.Replace, created.ID, put)); compactJSON(t, got.Plans) != want || !strings.Contains(want, "Medicine/Imaging") {
			t.Fatalf("replay of PUT after the rule change:\n%s\nwant\n%s", got.Plans, want)
		}
		var preview reconcile.Summary
		json.Unmarshal([]byte(do("POST", "/admin/v1/acme/connectors/okta/preview", adminToken, put, 200)), &preview)
		var plans []reconcile.RecordedSummary
		json.Unmarshal(got.Plans, &plans)
		if mustJSON(t, plans[0].Plan.Grants) != mustJSON(t, preview.Grants) || mustJSON(t, plans[0].Plan.Fired) != mustJSON(t, preview.Fired) {
			t.Fatalf("replay's grants %v, fired %v; the admin preview's %v, %v", plans[0].Plan.Grants, plans[0].Plan.Fired, preview.Grants, preview.Fired)
		}

		// The mapping editor's preview of the logged PATCH under rules not
		// saved: the PATCH replayed through the draft, as the saved rules
		// replay it but for what the draft changes; the saved rules left in
		// force, nothing written.
		draft := strings.Replace(v2, "Medicine/Imaging", "Medicine/Oncology", 1)
		previewBody, _ := json.Marshal(map[string]any{"connector": "okta", "yaml": draft, "request": byMethod["PATCH"].ID})
		before := counts()
		drafted := do("POST", "/admin/v1/acme/config/preview", adminToken, string(previewBody), 200)
		saved := replay("PATCH")
		if after := counts(); after != before {
			t.Fatalf("the preview of a PATCH wrote: %s before, %s after", before, after)
		}
		var draftPlan reconcile.Summary
		json.Unmarshal([]byte(drafted), &draftPlan)
		var savedPlans []reconcile.RecordedSummary
		json.Unmarshal(saved.Plans, &savedPlans)
		if len(savedPlans) != 1 || savedPlans[0].Plan == nil || !strings.Contains(mustJSON(t, savedPlans[0].Plan), "Medicine/Imaging") {
			t.Fatalf("the saved rules' replay of the PATCH: %s", saved.Plans)
		}
		if got, want := strings.ReplaceAll(mustJSON(t, draftPlan), "Medicine/Oncology", "Medicine/Imaging"), mustJSON(t, savedPlans[0].Plan); got != want || !strings.Contains(drafted, "Medicine/Oncology") {
			t.Fatalf("the PATCH previewed under the draft:\n%s\nwant the saved rules' replay with the draft's unit:\n%s", drafted, want)
		}
		status, _ := call(t, "POST", srv.URL+"/admin/v1/acme/config/preview", adminToken, strings.Replace(string(previewBody), `"yaml":"`, `"yaml":"  - [\n`, 1))
		if status != 400 {
			t.Fatalf("a PATCH previewed under a draft with problems: %d", status)
		}

		// A Bulk request: its operation's password is not kept, its plan is.
		do("POST", "/scim/v2/acme/Bulk", okta, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
			{"method":"POST","path":"/Users","bulkId":"c1","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"cat@example.com","password":"S3cret-3"}}]}`, 200)
		reqlog.Flush(ctx)
		var last struct{ Requests []logged }
		json.Unmarshal([]byte(do("GET", "/admin/v1/acme/connectors/okta/requests?limit=1", adminToken, "", 200)), &last)
		bulk := do("GET", "/admin/v1/acme/connectors/okta/requests/"+strconv.FormatInt(last.Requests[0].ID, 10), adminToken, "", 200)
		if !strings.HasSuffix(last.Requests[0].Path, "/Bulk") || len(last.Requests[0].Plans) != 1 || last.Requests[0].Plans[0].Plan == nil ||
			last.Requests[0].Plans[0].Plan.UserName != "cat@example.com" || strings.Contains(bulk, "S3cret") || !strings.Contains(bulk, "cat@example.com") {
			t.Fatalf("the Bulk request logged as %s", bulk)
		}

		// The CLI: the same log, the same replay.
		code, out, errOut := scimd(t, nil, "connector", "requests", "--tenant", "acme", "--connector", "okta", "--database-url", dsn)
		if code != 0 || strings.Count(out, "\n") != len(all)+1 || strings.Contains(out, "S3cret") {
			t.Fatalf("connector requests: %d %s %s", code, out, errOut)
		}
		code, out, errOut = scimd(t, nil, "connector", "replay", "--tenant", "acme", "--connector", "okta",
			"--request", strconv.FormatInt(byMethod["PUT"].ID, 10), "--database-url", dsn)
		var cli replayed
		if err := json.Unmarshal([]byte(out), &cli); code != 0 || err != nil || compactJSON(t, cli.Plans) != compactJSON(t, got.Plans) {
			t.Fatalf("connector replay: %d %s %s, want the API's %s", code, out, errOut, got.Plans)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// compactJSON re-encodes raw as mustJSON would encode it.
func compactJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v []reconcile.RecordedSummary
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return mustJSON(t, v)
}
