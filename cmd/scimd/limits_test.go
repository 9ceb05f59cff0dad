package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store/storetest"
)

// TestLimits runs the real server and, for each limit, reads the value it
// advertises in /ServiceProviderConfig, sends a request just over it and
// gets the SCIM error the README names (never a 500), and one at it, which
// is not refused for its size.
func TestLimits(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		token := newToken(t, dsn, "acme", "okta")
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		base := serveImports(t, dsn, "SCIMD_LIMITS_MAX_IMPORT_BYTES", "4096")
		scimURL := base + "/scim/v2/acme"

		status, raw := call(t, "GET", scimURL+"/ServiceProviderConfig", token, "")
		var spc map[string]any
		if status != 200 || json.Unmarshal([]byte(raw), &spc) != nil {
			t.Fatalf("/ServiceProviderConfig: %d %s", status, raw)
		}
		if !strings.Contains(raw, `"`+scim.LimitsURN+`"`) {
			t.Fatalf("/ServiceProviderConfig lists no %s in schemas: %s", scim.LimitsURN, raw)
		}
		advertised := func(section, name string) int {
			t.Helper()
			m, _ := spc[section].(map[string]any)
			v, ok := m[name].(float64)
			if !ok || v <= 0 {
				t.Fatalf("/ServiceProviderConfig has no %s.%s: %s", section, name, raw)
			}
			return int(v)
		}
		if advertised(scim.LimitsURN, "maxBodyBytes") != advertised("bulk", "maxPayloadSize") {
			t.Errorf("maxBodyBytes and bulk.maxPayloadSize differ: %s", raw)
		}
		if advertised(scim.LimitsURN, "rateLimitRequestsPerSecond") != defaultRateLimit || advertised(scim.LimitsURN, "rateLimitBurst") != defaultRateBurst {
			t.Errorf("rate limit advertised: %s", raw)
		}

		var userIDs []string // made by the bulk case, used by the PATCH cases
		bulkOf := func(prefix string, n int) string {
			ops := make([]string, n)
			for i := range ops {
				ops[i] = fmt.Sprintf(`{"method":"POST","path":"/Users","bulkId":"b%d","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s%d@example.com"}}`, i, prefix, i)
			}
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[` + strings.Join(ops, ",") + `]}`
		}
		// pad makes a JSON body exactly n bytes long with spaces.
		pad := func(body string, n int) string { return body + strings.Repeat(" ", max(n-len(body), 0)) }
		eqFilter := func(n int) string { // userName eq "x…" of n bytes
			return `userName eq "` + strings.Repeat("x", n-len(`userName eq ""`)) + `"`
		}
		nested := func(n int) string { return strings.Repeat("(", n) + `userName eq "a"` + strings.Repeat(")", n) }
		patchOps := func(ops ...string) string {
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
		}
		repeat := func(s string, n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = s
			}
			return out
		}
		var groupID string
		members := func(n int) string {
			vals := make([]string, n)
			for i := range vals {
				id := "00000000-0000-0000-0000-000000000000"
				if i < len(userIDs) {
					id = userIDs[i]
				}
				vals[i] = `{"value":"` + id + `"}`
			}
			return patchOps(`{"op":"add","path":"members","value":[` + strings.Join(vals, ",") + `]}`)
		}
		attrs := func(n int) string { // userName,userName,…,x… of n bytes
			s := strings.Repeat("userName,", n/len("userName,")-1)
			return s + strings.Repeat("x", n-len(s))
		}
		userBody := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"padded@example.com"}`
		q := url.QueryEscape

		type req struct{ method, path, body string }
		for _, c := range []struct {
			name          string
			section, attr string
			request       func(n int) req
			// over: the status and scimType just over the limit
			status   int
			scimType string
			// at: the status at the limit
			at int
		}{
			{"body", scim.LimitsURN, "maxBodyBytes",
				func(n int) req { return req{"POST", "/Users", pad(userBody, n)} },
				413, "", 201},
			{"bulk payload", "bulk", "maxPayloadSize",
				func(n int) req { return req{"POST", "/Bulk", pad(bulkOf("payload", 1), n)} },
				413, "", 200},
			{"bulk operations", "bulk", "maxOperations",
				func(n int) req { return req{"POST", "/Bulk", bulkOf("u", n)} },
				413, "", 200},
			{"filter length", scim.LimitsURN, "maxFilterLength",
				func(n int) req { return req{"GET", "/Users?filter=" + q(eqFilter(n)), ""} },
				400, "invalidFilter", 200},
			{"filter depth", scim.LimitsURN, "maxFilterDepth",
				func(n int) req { return req{"GET", "/Users?filter=" + q(nested(n)), ""} },
				400, "invalidFilter", 200},
			{"PATCH operations", scim.LimitsURN, "maxPatchOperations",
				func(n int) req {
					return req{"PATCH", "/Users/" + userIDs[0], patchOps(repeat(`{"op":"replace","path":"displayName","value":"x"}`, n)...)}
				},
				413, "", 200},
			{"PATCH members", scim.LimitsURN, "maxPatchMembers",
				func(n int) req { return req{"PATCH", "/Groups/" + groupID, members(n)} },
				413, "", 204},
			{"PATCH path", scim.LimitsURN, "maxPathLength",
				func(n int) req {
					path := `emails[value eq "` + strings.Repeat("x", n-len(`emails[value eq ""]`)) + `"]`
					quoted, _ := json.Marshal(path)
					return req{"PATCH", "/Users/" + userIDs[0], patchOps(`{"op":"remove","path":` + string(quoted) + `}`)}
				},
				400, "invalidPath", 200},
			{"sortBy", scim.LimitsURN, "maxSortByLength",
				func(n int) req { return req{"GET", "/Users?sortBy=" + strings.Repeat("x", n), ""} },
				400, "invalidValue", 400}, // no attribute's name is that long
			{"attributes", scim.LimitsURN, "maxAttributesLength",
				func(n int) req { return req{"GET", "/Users?attributes=" + attrs(n), ""} },
				400, "invalidValue", 200},
			{"cursor", scim.LimitsURN, "maxCursorLength",
				func(n int) req { return req{"GET", "/Users?cursor=" + strings.Repeat("x", n), ""} },
				400, "invalidValue", 400}, // nor any cursor
		} {
			n := advertised(c.section, c.attr)
			var atRaw string
			for _, try := range []struct {
				size           int
				status         int
				scimType, what string
			}{{n + 1, c.status, c.scimType, "over"}, {n, c.at, "", "at"}} {
				r := c.request(try.size)
				status, raw := call(t, r.method, scimURL+r.path, token, r.body)
				var body map[string]any
				json.Unmarshal([]byte(raw), &body)
				if try.what == "at" {
					atRaw = raw
				}
				if status != try.status {
					t.Errorf("%s (%s.%s = %d), %s it: %d, want %d: %.300s", c.name, c.section, c.attr, n, try.what, status, try.status, raw)
					continue
				}
				detail, _ := body["detail"].(string)
				switch {
				case try.what == "over" && (body["status"] != strconv.Itoa(status) || body["scimType"] != nilIfEmpty(try.scimType) ||
					!strings.Contains(detail, strconv.Itoa(n))):
					t.Errorf("%s over the limit: not a SCIM error with scimType %q naming the limit %d: %s", c.name, try.scimType, n, raw)
				case try.what == "at" && strings.Contains(detail, "limit"):
					t.Errorf("%s at the limit: refused for its size: %s", c.name, raw)
				}
			}
			if c.name == "bulk operations" { // the users the PATCH cases need
				var res struct {
					Operations []struct{ Location, Status string }
				}
				json.Unmarshal([]byte(atRaw), &res)
				for _, op := range res.Operations {
					userIDs = append(userIDs, op.Location[strings.LastIndex(op.Location, "/")+1:])
				}
				_, raw := call(t, "POST", scimURL+"/Groups", token, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"big"}`)
				var g map[string]any
				json.Unmarshal([]byte(raw), &g)
				groupID, _ = g["id"].(string)
			}
		}

		// count: above filter.maxResults it is clamped (RFC 7644 §3.4.2.4), not refused.
		maxResults := advertised("filter", "maxResults")
		for _, count := range []int{maxResults + 1, maxResults} {
			status, raw := call(t, "GET", scimURL+"/Users?count="+strconv.Itoa(count), token, "")
			var page struct{ ItemsPerPage, TotalResults int }
			json.Unmarshal([]byte(raw), &page)
			if status != 200 || page.ItemsPerPage != maxResults || page.TotalResults <= maxResults {
				t.Errorf("count=%d (filter.maxResults %d): %d, itemsPerPage %d of %d", count, maxResults, status, page.ItemsPerPage, page.TotalResults)
			}
		}

		// The CSV import's bound, on the admin API.
		n := advertised(scim.LimitsURN, "maxImportBytes")
		for _, try := range []struct {
			size, status int
		}{{n + 1, 413}, {n, 202}} {
			csv := "userName,email\n" + "u@example.com,u@example.com\n"
			csv += strings.Repeat("#", try.size-len(csv))
			req, _ := http.NewRequest("POST", base+"/admin/v1/acme/imports?dryRun=true", strings.NewReader(csv))
			req.Header.Set("Authorization", "Bearer "+admin)
			req.Header.Set("Content-Type", "text/csv")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != try.status || try.status == 413 && !strings.Contains(string(raw), strconv.Itoa(n)) {
				t.Errorf("CSV import of %d bytes (maxImportBytes %d): %d %s", try.size, n, res.StatusCode, raw)
			}
			if res.StatusCode == 202 {
				waitImport(t, base, admin, res.Header.Get("Location"))
			}
		}
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// waitImport waits for the import job at location to end.
func waitImport(t *testing.T, base, token, location string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, raw := call(t, "GET", base+location, token, "")
		if strings.Contains(raw, `"done"`) || strings.Contains(raw, `"failed"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("import job did not end: %s", raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeRateLimit: serve's --rate-limit, here from its environment
// variable, is advertised and enforced per connector.
func TestServeRateLimit(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "scimd.db")
	flood := newToken(t, dsn, "acme", "okta")
	calm := newToken(t, dsn, "acme", "entra")
	base := serveImports(t, dsn, "SCIMD_LIMITS_CONNECTOR_RATE", "0.5", "SCIMD_LIMITS_CONNECTOR_BURST", "2") + "/scim/v2/acme"
	status, raw := call(t, "GET", base+"/ServiceProviderConfig", flood, "")
	if status != 200 || !strings.Contains(raw, `"rateLimitRequestsPerSecond":0.5`) || !strings.Contains(raw, `"rateLimitBurst":2`) {
		t.Fatalf("/ServiceProviderConfig: %d %s", status, raw)
	}
	call(t, "GET", base+"/Users", flood, "")
	res, body := request(t, "GET", base+"/Users", flood, "")
	if res.StatusCode != 429 || body["status"] != "429" || res.Header.Get("Retry-After") != "2" {
		t.Fatalf("third request at 0.5/s, burst 2: %d, Retry-After %q, %v", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if status, raw := call(t, "GET", base+"/Users", calm, ""); status != 200 {
		t.Fatalf("another connector of the tenant: %d %s", status, raw)
	}
}
