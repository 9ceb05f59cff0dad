package scim

import (
	"reflect"
	"testing"

	filter "github.com/scim2/filter-parser/v2"
)

// TestSimpleFilter: the lookup fast path builds exactly what the parser
// builds, and leaves to the parser what it does not read.
func TestSimpleFilter(t *testing.T) {
	for _, raw := range []string{
		`userName eq "bjensen@example.com"`,
		`userName EQ "BJensen@Example.com"`,
		`externalId Eq "00u1abcd"`,
		`displayName eq "Ünïcödé Group"`,
		`name.familyName eq "O'Brien"`,
		`emails.value eq "a+b@example.com"`,
		`userName eq ""`,
		`userName eq "a b  c"`,
	} {
		fast, ok := simpleFilter(raw)
		if !ok {
			t.Errorf("%s: not read by the fast path", raw)
			continue
		}
		want, err := filter.ParseFilterNumber([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Errorf("%s: fast path %#v, parser %#v", raw, fast, want)
		}
	}
	for _, raw := range []string{
		`userName eq "quote\"d"`,
		`userName eq "back\\slash"`,
		`userName eq "x" and active eq true`,
		`userName ne "x"`,
		`userName eq x`,
		`userName eq "x`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`,
		`emails[type eq "work"].value eq "x"`,
		`a.b.c eq "x"`,
		`1abc eq "x"`,
		`$ref eq "x"`,
		`userName  eq "x"`,
		`userName eq 42`,
		"userName eq \"tab\there\"",
	} {
		if f, ok := simpleFilter(raw); ok {
			t.Errorf("%s: the fast path read %#v; it must leave this to the parser", raw, f)
		}
	}
}
