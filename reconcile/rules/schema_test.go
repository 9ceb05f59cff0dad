package rules

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestSchemaMatchesLoader holds schemas/connector.schema.json to the
// loader: the same keys at every level, the same enumerations, so the two
// cannot drift.
func TestSchemaMatchesLoader(t *testing.T) {
	data, err := os.ReadFile("../../schemas/connector.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("the schema is not valid JSON: %v", err)
	}
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", schema["$schema"])
	}
	defs, _ := schema["$defs"].(map[string]any)
	def := func(name string) map[string]any {
		if name == "config" {
			return schema
		}
		d, _ := defs[name].(map[string]any)
		return d
	}
	at := func(m map[string]any, path ...string) any {
		var v any = m
		for _, p := range path {
			mm, _ := v.(map[string]any)
			v = mm[p]
		}
		return v
	}

	for name, accepted := range keys {
		t.Run("the schema's "+name+" has exactly the keys the loader accepts", func(t *testing.T) {
			d := def(name)
			if d == nil {
				t.Fatalf("no $defs/%s in the schema", name)
			}
			props, _ := d["properties"].(map[string]any)
			var got []string
			for k := range props {
				got = append(got, k)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(accepted))
			if !slices.Equal(got, want) {
				t.Errorf("schema keys %v\nloader keys %v", got, want)
			}
			if d["additionalProperties"] != false {
				t.Error("additionalProperties is not false: the loader refuses unknown keys")
			}
		})
	}
	t.Run("every object the schema defines is one the loader reads", func(t *testing.T) {
		for name, d := range defs {
			if _, ok := d.(map[string]any)["properties"]; ok {
				if _, known := keys[name]; !known {
					t.Errorf("$defs/%s has properties but the loader has no keys for it", name)
				}
			}
		}
	})

	enums := []struct {
		name string
		path []string
		want []string
	}{
		{"match keys", []string{"$defs", "matchKey", "enum"}, matchKeys},
		{"sources", []string{"$defs", "source", "enum"}, sources},
		{"statuses", []string{"$defs", "status", "enum"}, statuses},
		{"requirements", []string{"$defs", "connector", "properties", "require", "items", "enum"}, requirements},
		{"login names", []string{"$defs", "connector", "properties", "loginName", "enum"}, loginNames},
		{"revisions", []string{"$defs", "connector", "properties", "revisions", "enum"}, revisions},
	}
	for _, e := range enums {
		t.Run("the schema's "+e.name+" are the loader's", func(t *testing.T) {
			raw, _ := at(schema, e.path...).([]any)
			var got []string
			for _, v := range raw {
				s, _ := v.(string)
				got = append(got, s)
			}
			if !slices.Equal(got, e.want) {
				t.Errorf("%s: schema %q, loader %q", strings.Join(e.path, "/"), got, e.want)
			}
		})
	}

	t.Run("every $ref names a definition", func(t *testing.T) {
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if ref, ok := v["$ref"].(string); ok {
					if name, ok := strings.CutPrefix(ref, "#/$defs/"); !ok || defs[name] == nil {
						t.Errorf("$ref %q names no definition", ref)
					}
				}
				for _, c := range v {
					walk(c)
				}
			case []any:
				for _, c := range v {
					walk(c)
				}
			}
		}
		walk(schema)
	})
}
