package patch_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/scim/patch"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

var (
	user  = patch.Target{Schema: schema.CoreUserSchema(), Extensions: []schema.Schema{schema.ExtensionEnterpriseUser()}, ID: "u1"}
	group = patch.Target{Schema: schema.CoreGroupSchema(), Members: "members", ID: "g1"}
)

func doc(s string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		panic(err)
	}
	return m
}

func ops(s string) []patch.Op {
	got, err := patch.Parse([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + s + `}`))
	if err != nil {
		panic(err)
	}
	return got
}

func TestApply(t *testing.T) {
	base := `{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},
		"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],
		"` + ent + `":{"department":"Radiology"}}`
	tests := []struct {
		name string
		ops  string
		want string // the whole document after
	}{
		{"replace a simple attribute; op in any case", `[{"op":"Replace","path":"userName","value":"babs"}]`,
			`{"userName":"babs","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology"}}`},
		{"Entra's string boolean", `[{"op":"Replace","path":"active","value":"False"}]`,
			`{"userName":"bjensen","active":false,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology"}}`},
		{"Okta's path-less deactivate", `[{"op":"replace","value":{"active":false}}]`,
			`{"userName":"bjensen","active":false,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology"}}`},
		{"path-less keys are paths and URNs", `[{"op":"replace","value":{"name.givenName":"Babs","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"701","DisplayName":"B"}}]`,
			`{"userName":"bjensen","active":true,"displayName":"B","name":{"givenName":"Babs","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology","employeeNumber":"701"}}`},
		{"an extension container", `[{"op":"add","value":{"` + ent + `":{"costCenter":"42"}}}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology","costCenter":"42"}}`},
		{"value filter with sub-attribute, capitalised", `[{"op":"Replace","path":"emails[type eq \"work\"].Value","value":"new@work.example"}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"new@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology"}}`},
		{"value filter creates the element when none matches, and merges later ops into it",
			`[{"op":"Add","path":"addresses[type eq \"work\"].streetAddress","value":"1 Main St"},{"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Springfield"}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology"},"addresses":[{"type":"work","streetAddress":"1 Main St","locality":"Springfield"}]}`},
		{"remove by value filter", `[{"op":"remove","path":"emails[type eq \"home\"]"}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true}],"` + ent + `":{"department":"Radiology"}}`},
		{"add to a multi-valued attribute appends, without duplicates", `[{"op":"add","path":"emails","value":[{"value":"x@y.example","type":"other"},{"value":"b@home.example","type":"home"}]}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"},{"value":"x@y.example","type":"other"}],"` + ent + `":{"department":"Radiology"}}`},
		{"replace a multi-valued attribute", `[{"op":"replace","path":"emails","value":[{"value":"only@x.example"}]}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"only@x.example"}],"` + ent + `":{"department":"Radiology"}}`},
		{"manager as a bare id (Entra), then removed with an empty value",
			`[{"op":"Add","path":"` + ent + `:manager","value":"m-1"},{"op":"Replace","path":"` + ent + `:department","value":""}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"manager":{"value":"m-1"}}}`},
		{"null clears", `[{"op":"replace","path":"name.familyName","value":null},{"op":"replace","path":"title","value":null}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology"}}`},
		{"a complex value merges", `[{"op":"replace","path":"name","value":{"FamilyName":"Smith"}}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Smith"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology"}}`},
		{"externalId is writable", `[{"op":"add","path":"externalId","value":"00u1"}]`,
			`{"userName":"bjensen","active":true,"externalId":"00u1","name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],"` + ent + `":{"department":"Radiology"}}`},
		{"no operations change nothing", `[]`, base},
		{"adding a primary value clears the old primary (RFC 7644 §3.5.2)", `[{"op":"add","path":"emails","value":[{"value":"n@x.example","primary":true}]}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":false},{"value":"b@home.example","type":"home"},{"value":"n@x.example","primary":true}],"` + ent + `":{"department":"Radiology"}}`},
		{"a filtered primary clears the others", `[{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}]`,
			`{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@work.example","type":"work","primary":false},{"value":"b@home.example","type":"home","primary":true}],"` + ent + `":{"department":"Radiology"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := doc(base)
			got, members, err := patch.Apply(in, ops(tt.ops), user, patch.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, doc(tt.want)) {
				g, _ := json.Marshal(got)
				t.Errorf("got  %s\nwant %s", g, tt.want)
			}
			if members != nil {
				t.Errorf("member ops on a user: %v", members)
			}
			if !reflect.DeepEqual(in, doc(base)) {
				t.Error("Apply changed its input")
			}
		})
	}
}

// TestCreateMissing: with the option (the entra profile), a replace that
// matches no element creates it, as Entra expects.
func TestCreateMissing(t *testing.T) {
	got, _, err := patch.Apply(doc(`{"userName":"b"}`), ops(`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"b@work.example"}]`), user, patch.Options{CreateMissing: true})
	if err != nil || !reflect.DeepEqual(got, doc(`{"userName":"b","emails":[{"type":"work","value":"b@work.example"}]}`)) {
		t.Errorf("got %v, %v", got, err)
	}
}

func TestApplyRefuses(t *testing.T) {
	tests := []struct {
		name, ops, scimType, detail string
		opts                        patch.Options
	}{
		{"read-only", `[{"op":"replace","path":"id","value":"x"}]`, "mutability", "read-only", patch.Options{}},
		{"read-only meta", `[{"op":"replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}]`, "mutability", "read-only", patch.Options{}},
		{"groups are read-only on a user", `[{"op":"add","path":"groups","value":[{"value":"g"}]}]`, "mutability", "groups", patch.Options{}},
		{"unknown attribute", `[{"op":"add","path":"shoeSize","value":"9"}]`, "invalidPath", "shoeSize", patch.Options{}},
		{"unknown sub-attribute", `[{"op":"add","path":"name.nick","value":"9"}]`, "invalidPath", "nick", patch.Options{}},
		{"remove needs a path", `[{"op":"remove"}]`, "noTarget", "path", patch.Options{}},
		{"replace with no target (RFC 7644 §3.5.2.3)", `[{"op":"replace","path":"emails[type eq \"fax\"].value","value":"x"}]`, "noTarget", "emails", patch.Options{}},
		{"path longer than the limit", `[{"op":"replace","path":"` + strings.Repeat("a", patch.MaxPathLen+1) + `","value":"x"}]`, "invalidPath", "limit is 1024", patch.Options{}},
		{"path-less key longer than the limit", `[{"op":"replace","value":{"` + strings.Repeat("a", patch.MaxPathLen+1) + `":"x"}}]`, "invalidPath", "limit is 1024", patch.Options{}},
		{"wrong type", `[{"op":"replace","path":"active","value":"maybe"}]`, "invalidValue", "active", patch.Options{}},
		{"bad path", `[{"op":"replace","path":"emails[","value":"x"}]`, "invalidPath", "emails[", patch.Options{}},
		{"path-less value must be an object", `[{"op":"replace","value":"x"}]`, "invalidValue", "object", patch.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := patch.Apply(doc(`{"userName":"b","emails":[{"value":"a","type":"work"}]}`), ops(tt.ops), user, tt.opts)
			var pe *patch.Error
			if !errors.As(err, &pe) || pe.ScimType != tt.scimType || !strings.Contains(pe.Detail, tt.detail) || !strings.Contains(pe.Detail, "Operations[0]") {
				t.Fatalf("err = %v, want %s naming %q and the operation", err, tt.scimType, tt.detail)
			}
		})
	}
}

func TestGroupMembers(t *testing.T) {
	tests := []struct {
		name string
		ops  string
		want []patch.MemberOp
		doc  string
	}{
		{"add with $ref null and displayName (Entra, Microsoft suite)",
			`[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"},{"displayName":"x","value":"u2"}]}]`,
			[]patch.MemberOp{{Op: "add", IDs: []string{"u1", "u2"}}}, `{"displayName":"Staff"}`},
		{"remove by value list (Entra, JumpCloud) is not remove-all",
			`[{"op":"Remove","path":"members","value":[{"value":"u1"}]}]`,
			[]patch.MemberOp{{Op: "remove", IDs: []string{"u1"}}}, `{"displayName":"Staff"}`},
		{"remove by filter (Okta)", `[{"op":"remove","path":"members[value eq \"u1\"]"}]`,
			[]patch.MemberOp{{Op: "remove", IDs: []string{"u1"}}}, `{"displayName":"Staff"}`},
		{"remove all", `[{"op":"remove","path":"members"}]`, []patch.MemberOp{{Op: "remove", All: true}}, `{"displayName":"Staff"}`},
		{"a bare id", `[{"op":"add","path":"members","value":"u9"}]`, []patch.MemberOp{{Op: "add", IDs: []string{"u9"}}}, `{"displayName":"Staff"}`},
		{"Okta rename carrying the group's id, with membership in one request",
			`[{"op":"replace","value":{"id":"g1","displayName":"Renamed"}},{"op":"remove","path":"members[value eq \"u1\"]"},{"op":"add","path":"members","value":[{"value":"u2","display":"b"}]}]`,
			[]patch.MemberOp{{Op: "remove", IDs: []string{"u1"}}, {Op: "add", IDs: []string{"u2"}}}, `{"displayName":"Renamed"}`},
		{"replace all", `[{"op":"replace","path":"members","value":[{"value":"u3"}]}]`, []patch.MemberOp{{Op: "replace", IDs: []string{"u3"}}}, `{"displayName":"Staff"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, members, err := patch.Apply(doc(`{"displayName":"Staff"}`), ops(tt.ops), group, patch.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(members, tt.want) {
				t.Errorf("member ops = %+v, want %+v", members, tt.want)
			}
			if !reflect.DeepEqual(got, doc(tt.doc)) {
				t.Errorf("doc = %v, want %s (members never enter the document)", got, tt.doc)
			}
		})
	}
	_, _, err := patch.Apply(doc(`{"displayName":"Staff"}`), ops(`[{"op":"replace","value":{"id":"other"}}]`), group, patch.Options{})
	if err == nil {
		t.Error("a path-less id naming another group was accepted")
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{`{`, `[]`, `{"Operations":[]}`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":{}}`} {
		if _, err := patch.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
	got, err := patch.Parse([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"OP":"ADD","Path":"title","Value":"x"}]}`))
	if err != nil || len(got) != 1 || got[0].Op != "add" || got[0].Path != "title" || got[0].Value != "x" {
		t.Errorf("keys in any case: %+v %v", got, err)
	}
}

// FuzzApply: no input makes the engine panic, and what it refuses it
// refuses with a SCIM error.
func FuzzApply(f *testing.F) {
	f.Add(`[{"op":"replace","path":"emails[type eq \"work\"].value","value":"x"}]`)
	f.Add(`[{"op":"add","value":{"name.givenName":"a","` + ent + `":{"manager":"m"}}}]`)
	f.Add(`[{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"}]`)
	f.Add(`[{"op":"add","path":"addresses[type eq \"work\" and primary eq true].locality","value":null}]`)
	f.Fuzz(func(t *testing.T, opsJSON string) {
		parsed, err := patch.Parse([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + opsJSON + `}`))
		if err != nil {
			return
		}
		for _, target := range []patch.Target{user, group} {
			_, _, err := patch.Apply(doc(`{"userName":"b","displayName":"g","emails":[{"value":"a","type":"work"}],"name":{"givenName":"x"}}`), parsed, target, patch.Options{})
			var pe *patch.Error
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("%s: a non-SCIM error %v", opsJSON, err)
			}
		}
	})
}
