package rules

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"go.yaml.in/yaml/v3"
)

// keys lists the keys each mapping of the file accepts, by the name of the
// $defs entry of schemas/connector.schema.json describing it ("config" is
// the file itself). A test holds the schema to it.
var keys = map[string][]string{
	"config":             {"tenants"},
	"tenant":             {"name", "roles", "extensions", "connectors"},
	"extension":          {"schema", "name", "attributes"},
	"extensionAttribute": {"name", "type", "multiValued", "caseExact", "description"},
	"role":               {"name", "groups"},
	"connector":          {"name", "kind", "oidc", "csv", "match", "emailDomains", "create", "require", "loginName", "revisions", "notify", "allow", "precedence", "rules", "deletionGuard"},
	"deletionGuard":      {"count", "percent", "window", "notify"},
	"create":             {"roles", "groups", "orgUnits"},
	"allow":              {"roles", "groups", "orgUnits"},
	"precedence":         attributes,
	"csv":                {"columns", "require", "empty"},
	"oidc":               {"issuer", "clientId", "clientSecretEnv", "clientSecretFile", "scopes", "redirectBaseUrl", "returnOrigins", "emailVerified", "createUsers", "userNameClaim"},
	"rule":               {"name", "if", "orgUnit", "groups", "roles", "status", "accessStart", "accessEnd", "externalId", "skipMissing", "write"},
}

// unused names keys, by the same $defs names, that people write for a
// setting scimd does not take from this file, with the hint that says
// why: an unknown key is refused, never silently ignored.
var unused = map[string]map[string]string{
	"connector": {"profile": "the compatibility profile lives in the database, set by " +
		"scimd connector set --tenant T --connector C --profile default|strict|entra|okta: remove it here"},
	"oidc": {"clientSecret": "a client secret is never written in the configuration, which is saved and shown: " +
		"put it in an environment variable and name it (clientSecretEnv: SCIMD_OKTA_SECRET), or in a file (clientSecretFile: /run/secrets/okta)"},
	"precedence": {
		"orgUnit": grantsNeedNone, "groups": grantsNeedNone,
		"externalId": "each connector has its own external IDs, which no other writer sets: remove it",
	},
}

const grantsNeedNone = "grants need no precedence: a rule only ever revokes what it granted itself, " +
	"never an admin's or another connector's grant: remove it"

// Values the file may use, each checked against the schema by a test.
var (
	// attributes are those a connector's precedence may name.
	attributes = []string{
		"userName", "name", "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage",
		"locale", "timezone", "active", "emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements",
		"x509Certificates", "employeeNumber", "costCenter", "organization", "division", "department", "manager",
		"roles", "status", "accessWindow",
	}
	sources      = []string{"scim", "oidc", "csv", "admin"}
	matchKeys    = []string{string(MatchExternalID), string(MatchUserName), string(MatchEmail)}
	requirements = []string{"group", "role"}
	loginNames   = []string{"", LoginFirstLast}
	revisions    = []string{"", RevisionsAddGroups}
	statuses     = []string{"active", "disabled", "pending"}
	kinds        = []string{KindSCIM, KindOIDC, KindCSV}
	// userNameClaims are the ID token claims a login may take a userName from.
	userNameClaims = []string{"preferred_username", "email", "upn"}
	// attributeTypes are the SCIM types an extension attribute may have
	// (RFC 7643 §2.3, less complex, reference and binary).
	attributeTypes = []string{"string", "boolean", "integer", "decimal", "dateTime"}
)

// maxAliases bounds how many YAML aliases a file may expand, so that a
// few lines of anchors cannot make loading take forever.
const maxAliases = 1000

// Error is a configuration [Load] refused: every problem found, in file
// order.
type Error struct {
	Problems []Problem
}

// Error returns one "file:line:col: msg (hint: …)" line per problem.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Problem is one thing wrong with a configuration file. Line and Column
// are 1-based; 0 means unknown.
type Problem struct {
	File         string
	Line, Column int
	Msg, Hint    string
}

// String returns "file:line:col: msg (hint: …)", leaving out what is
// unknown.
func (p Problem) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	s += ": " + p.Msg
	if p.Hint != "" {
		s += " (hint: " + p.Hint + ")"
	}
	return s
}

// Load parses and checks the configuration in data, read from file (used
// only in problems), and compiles its rules. A configuration with any
// problem is refused as a whole with an *[Error] listing them all. An
// empty file is an empty configuration.
func Load(file string, data []byte) (*Config, error) {
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	l := &loader{file: file, env: env, lines: strings.Split(string(data), "\n")}
	cfg := l.config(data)
	if len(l.problems) > 0 {
		slices.SortStableFunc(l.problems, func(a, b Problem) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, &Error{Problems: l.problems}
	}
	return cfg, nil
}

// loader walks a YAML document, collecting problems as it goes.
type loader struct {
	// connectorNames are the current tenant's: precedence may name them.
	connectorNames []string
	// reads collects the variables the current connector's rules read.
	reads    map[string]bool
	file     string
	lines    []string
	env      *cel.Env
	problems []Problem
	aliases  int
}

func (l *loader) config(data []byte) *Config {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			l.syntax(err)
		}
		return &Config{}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.add(&extra, "a second YAML document", "keep everything in one document: remove the --- separator")
	} else if !errors.Is(err, io.EOF) {
		l.syntax(err)
	}
	cfg := &Config{}
	if len(doc.Content) == 0 {
		return cfg
	}
	m := l.mapping(doc.Content[0], "config")
	seen := map[string]int{}
	for _, n := range l.seq(m["tenants"], "tenants") {
		if t := l.tenant(n, seen); t != nil {
			cfg.Tenants = append(cfg.Tenants, t)
		}
	}
	return cfg
}

func (l *loader) tenant(n *yaml.Node, seen map[string]int) *Tenant {
	m := l.mapping(n, "tenant")
	if m == nil {
		return nil
	}
	t := &Tenant{Name: l.name(n, m, "tenant", "in the file", seen), Source: source(n)}
	roles := map[string]int{}
	for _, rn := range l.seq(m["roles"], "roles") {
		rm := l.mapping(rn, "role")
		if rm == nil {
			continue
		}
		r := RoleDef{Name: l.name(rn, rm, "role", "within a tenant", roles)}
		for _, g := range l.seq(rm["groups"], "groups") {
			name := strings.TrimSpace(l.str(g, "a group"))
			if name == "" {
				l.add(g, fmt.Sprintf("role %q: empty group name", r.Name), "name a group, or omit groups for a role valid with any group")
				continue
			}
			r.Groups = append(r.Groups, name)
		}
		t.Roles = append(t.Roles, r)
	}
	t.Extensions = l.extensions(m["extensions"])
	connectors := map[string]int{}
	l.connectorNames = connectorNames(l.resolve(m["connectors"]))
	for _, cn := range l.seq(m["connectors"], "connectors") {
		if c := l.connector(cn, t, connectors); c != nil {
			t.Connectors = append(t.Connectors, c)
		}
	}
	return t
}

// source writes the tenant n as a configuration of its own.
func source(n *yaml.Node) string {
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "tenants"},
		{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{n}},
	}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if enc.Encode(doc) != nil || enc.Close() != nil {
		return ""
	}
	return b.String()
}

// extensions reads a tenant's custom User extension schemas.
func (l *loader) extensions(n *yaml.Node) []Extension {
	var out []Extension
	urns := map[string]int{}
	for _, en := range l.seq(n, "extensions") {
		m := l.mapping(en, "extension")
		if m == nil {
			continue
		}
		e := Extension{Schema: strings.TrimSpace(l.str(m["schema"], "schema")), Name: l.str(m["name"], "name")}
		switch {
		case e.Schema == "":
			l.add(l.resolve(en), "extension has no schema", "add schema: urn:ietf:params:scim:schemas:extension:<yours>:2.0:User")
		case !strings.HasPrefix(strings.ToLower(e.Schema), "urn:") || strings.ContainsAny(e.Schema, " \t"):
			l.add(m["schema"], fmt.Sprintf("extension schema %q is not a URN", e.Schema), "write it as urn:ietf:params:scim:schemas:extension:<yours>:2.0:User")
		case slices.Contains(reservedURNs, strings.ToLower(e.Schema)):
			l.add(m["schema"], fmt.Sprintf("extension schema %q is one scimd serves already", e.Schema), "name your own URN")
		default:
			if line, dup := urns[strings.ToLower(e.Schema)]; dup {
				l.add(m["schema"], fmt.Sprintf("extension schema %q repeated", e.Schema), fmt.Sprintf("it is first declared at line %d", line))
			}
			urns[strings.ToLower(e.Schema)] = m["schema"].Line
		}
		names := map[string]int{}
		for _, an := range l.seq(m["attributes"], "attributes") {
			am := l.mapping(an, "extensionAttribute")
			if am == nil {
				continue
			}
			a := ExtensionAttribute{Name: l.name(an, am, "attribute", "within an extension", names),
				Type: "string", Description: l.str(am["description"], "description")}
			if a.Name != "" && !validAttrName(a.Name) {
				l.add(am["name"], fmt.Sprintf("attribute name %q is not a SCIM attribute name", a.Name), "start with a letter; then letters, digits, - and _ (RFC 7643 §2.1)")
			}
			if v := am["type"]; present(l.resolve(v)) {
				a.Type = l.str(v, "type")
				if !slices.Contains(attributeTypes, a.Type) {
					l.add(v, fmt.Sprintf("unknown attribute type %q", a.Type), didYouMean(a.Type, attributeTypes, "types"))
				}
			}
			if v := am["multiValued"]; present(l.resolve(v)) {
				a.MultiValued = l.boolean(v, "multiValued")
			}
			if v := am["caseExact"]; present(l.resolve(v)) {
				a.CaseExact = l.boolean(v, "caseExact")
			}
			e.Attributes = append(e.Attributes, a)
		}
		if len(e.Attributes) == 0 {
			l.add(l.resolve(en), fmt.Sprintf("extension %s declares no attributes", e.Schema), "list its attributes: [{name: gradYear, type: integer}]")
		}
		out = append(out, e)
	}
	return out
}

// reservedURNs are the schemas scimd serves itself.
var reservedURNs = []string{
	"urn:ietf:params:scim:schemas:core:2.0:user",
	"urn:ietf:params:scim:schemas:core:2.0:group",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
}

// validAttrName is RFC 7643 §2.1's ATTRNAME: ALPHA *(nameChar).
func validAttrName(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '-' || r == '_')) {
			return false
		}
	}
	return s != ""
}

func (l *loader) connector(n *yaml.Node, t *Tenant, seen map[string]int) *Connector {
	m := l.mapping(n, "connector")
	if m == nil {
		return nil
	}
	c := &Connector{
		Tenant: t.Name,
		Name:   l.name(n, m, "connector", "within a tenant", seen),
		Match:  defaultMatch(),
		Roles:  slices.Clone(t.Roles),
	}
	c.Kind = KindSCIM
	if kn := m["kind"]; present(l.resolve(kn)) {
		c.Kind = l.str(kn, "kind")
		if !slices.Contains(kinds, c.Kind) {
			l.add(kn, fmt.Sprintf("unknown connector kind %q", c.Kind), didYouMean(c.Kind, kinds, "kinds"))
		}
	}
	switch on := m["oidc"]; {
	case c.Kind == KindOIDC && !present(l.resolve(on)):
		l.add(l.resolve(n), fmt.Sprintf("connector %q is of kind oidc but has no oidc settings", c.Name),
			"add oidc: {issuer: https://…, clientId: …, clientSecretEnv: …}")
	case c.Kind != KindOIDC && present(l.resolve(on)):
		l.add(on, fmt.Sprintf("connector %q has oidc settings but is of kind %s", c.Name, c.Kind), "add kind: oidc, or remove oidc")
	case c.Kind == KindOIDC:
		c.OIDC = l.oidc(on, c.Name)
	}
	switch cn := m["csv"]; {
	case c.Kind != KindCSV && present(l.resolve(cn)):
		l.add(cn, fmt.Sprintf("connector %q has csv settings but is of kind %s", c.Name, c.Kind), "add kind: csv, or remove csv")
	case c.Kind == KindCSV:
		c.CSV = l.csv(cn, c.Name)
		if c.CSV == nil {
			c.CSV = &CSV{}
		}
	}
	if mn := l.resolve(m["match"]); mn != nil && !isNull(mn) {
		c.Match = nil
		for _, k := range l.enums(mn, "match", "match key", matchKeys) {
			c.Match = append(c.Match, MatchKey(k))
		}
		if mn.Kind == yaml.SequenceNode && len(mn.Content) == 0 {
			l.add(mn, "match is empty", "list externalId, userName and/or email, or omit match for that order")
		}
	}
	for _, dn := range l.seq(m["emailDomains"], "emailDomains") {
		d := strings.ToLower(strings.TrimSpace(l.str(dn, "an email domain")))
		switch {
		case d == "":
			l.add(dn, "empty email domain", "remove it")
		case strings.Contains(d, "@"):
			l.add(dn, fmt.Sprintf("email domain %q contains @", d), "write the domain only, e.g. school.edu")
		case !slices.Contains(c.EmailDomains, d):
			c.EmailDomains = append(c.EmailDomains, d)
		}
	}
	if cm := l.mapping(m["create"], "create"); cm != nil {
		c.Create = Create{
			Roles:    l.boolean(cm["roles"], "create.roles"),
			Groups:   l.boolean(cm["groups"], "create.groups"),
			OrgUnits: l.boolean(cm["orgUnits"], "create.orgUnits"),
		}
	}
	req := l.enums(m["require"], "require", "requirement", requirements)
	c.Require = Require{Group: slices.Contains(req, "group"), Role: slices.Contains(req, "role")}
	if ln := m["loginName"]; ln != nil {
		c.LoginName = l.str(ln, "loginName")
		if !slices.Contains(loginNames, c.LoginName) {
			l.add(ln, fmt.Sprintf("unknown loginName %q", c.LoginName), `use "first.last", or omit loginName never to generate one`)
		}
	}
	if v := m["notify"]; v != nil {
		c.Notify = l.boolean(v, "notify")
	}
	if rn := m["revisions"]; rn != nil {
		c.Revisions = l.str(rn, "revisions")
		if !slices.Contains(revisions, c.Revisions) {
			l.add(rn, fmt.Sprintf("unknown revisions %q", c.Revisions), `use "addGroups", or omit revisions to revoke what a rule no longer names`)
		}
	}
	c.Allow = l.allow(m["allow"])
	c.Precedence, c.Writes = l.precedence(m["precedence"])
	c.DeletionGuard = l.deletionGuard(m["deletionGuard"])
	rules := map[string]int{}
	l.reads = map[string]bool{}
	for _, rn := range l.seq(m["rules"], "rules") {
		if r := l.rule(rn, c, rules); r != nil {
			c.Rules = append(c.Rules, r)
		}
	}
	c.reads, l.reads = l.reads, nil
	return c
}

// oidc reads an OIDC connector's settings.
func (l *loader) oidc(n *yaml.Node, connector string) *OIDC {
	m := l.mapping(n, "oidc")
	if m == nil {
		return nil
	}
	o := &OIDC{
		Issuer:           strings.TrimSpace(l.str(m["issuer"], "issuer")),
		ClientID:         strings.TrimSpace(l.str(m["clientId"], "clientId")),
		ClientSecretEnv:  strings.TrimSpace(l.str(m["clientSecretEnv"], "clientSecretEnv")),
		ClientSecretFile: strings.TrimSpace(l.str(m["clientSecretFile"], "clientSecretFile")),
		RedirectBaseURL:  strings.TrimRight(strings.TrimSpace(l.str(m["redirectBaseUrl"], "redirectBaseUrl")), "/"),
		EmailVerified:    true,
		CreateUsers:      true,
		UserNameClaim:    "preferred_username",
	}
	ctx := fmt.Sprintf("connector %q: oidc", connector)
	switch u, err := url.Parse(o.Issuer); {
	case o.Issuer == "":
		l.add(l.resolve(n), ctx+" has no issuer", "add issuer: the URL the provider names in iss, e.g. https://acme.okta.com or https://login.microsoftonline.com/{tenant-id}/v2.0")
	case err != nil || u.Host == "" || (u.Scheme != "https" && !loopback(u.Hostname())):
		l.add(m["issuer"], fmt.Sprintf("%s.issuer %q is not an https URL", ctx, o.Issuer), "write the issuer as the provider publishes it: https://…; http is accepted only for localhost")
	case strings.Contains(o.Issuer, "{") || strings.HasSuffix(u.Path, "/common/v2.0") || strings.HasSuffix(u.Path, "/organizations/v2.0"):
		l.add(m["issuer"], fmt.Sprintf("%s.issuer %q is not one tenant's issuer", ctx, o.Issuer), "Entra: use https://login.microsoftonline.com/{your tenant id}/v2.0 with the tenant's id (scimd checks iss against it)")
	}
	if o.ClientID == "" {
		l.add(l.resolve(n), ctx+" has no clientId", "add clientId: the application (client) ID the provider gave the app; ID tokens must be issued to it")
	}
	if o.ClientSecretEnv != "" && o.ClientSecretFile != "" {
		l.add(m["clientSecretFile"], ctx+" sets both clientSecretEnv and clientSecretFile", "keep one")
	}
	if v := m["scopes"]; present(l.resolve(v)) {
		for _, sn := range l.seq(v, "scopes") {
			if sc := strings.TrimSpace(l.str(sn, "a scope")); sc != "" && !slices.Contains(o.Scopes, sc) {
				o.Scopes = append(o.Scopes, sc)
			}
		}
		if !slices.Contains(o.Scopes, "openid") {
			l.add(v, ctx+".scopes lacks openid", "OIDC needs the openid scope: scopes: [openid, email, profile]")
		}
	} else {
		o.Scopes = []string{"openid", "email", "profile"}
	}
	if o.RedirectBaseURL != "" {
		if u, err := url.Parse(o.RedirectBaseURL); err != nil || u.Host == "" || (u.Scheme != "https" && !loopback(u.Hostname())) {
			l.add(m["redirectBaseUrl"], fmt.Sprintf("%s.redirectBaseUrl %q is not an https URL", ctx, o.RedirectBaseURL), "write scimd's public URL, e.g. https://scimd.example.com")
		}
	}
	for _, rn := range l.seq(m["returnOrigins"], "returnOrigins") {
		v := strings.TrimSpace(l.str(rn, "an origin"))
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
			(u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
			l.add(rn, fmt.Sprintf("%s.returnOrigins entry %q is not an origin", ctx, v), "write scheme and host only, e.g. https://app.example.com")
			continue
		}
		o.ReturnOrigins = append(o.ReturnOrigins, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	if v := m["emailVerified"]; present(l.resolve(v)) {
		o.EmailVerified = l.boolean(v, "emailVerified")
	}
	if v := m["createUsers"]; present(l.resolve(v)) {
		o.CreateUsers = l.boolean(v, "createUsers")
	}
	if v := m["userNameClaim"]; present(l.resolve(v)) {
		o.UserNameClaim = l.str(v, "userNameClaim")
		if !slices.Contains(userNameClaims, o.UserNameClaim) {
			l.add(v, fmt.Sprintf("%s: unknown userNameClaim %q", ctx, o.UserNameClaim), didYouMean(o.UserNameClaim, userNameClaims, "claims"))
		}
	}
	return o
}

// loopback reports whether host is this machine, where http is allowed
// (a provider run in tests or on a developer's laptop).
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (l *loader) allow(n *yaml.Node) Allow {
	m := l.mapping(n, "allow")
	var a Allow
	names := func(key string) []string {
		var out []string
		for _, it := range l.seq(m[key], "allow."+key) {
			v := strings.TrimSpace(l.str(it, "an allow."+key+" entry"))
			switch i := strings.IndexByte(v, '*'); {
			case v == "":
				l.add(it, "empty allow."+key+" entry", `name one, or end a prefix with *, e.g. "Class of *"`)
			case i >= 0 && i != len(v)-1:
				l.add(it, fmt.Sprintf("allow.%s entry %q has * before its end", key, v), `only a trailing * is a wildcard, e.g. "Class of *"`)
			default:
				out = append(out, v)
			}
		}
		return out
	}
	a.Roles, a.Groups = names("roles"), names("groups")
	for _, it := range l.seq(m["orgUnits"], "allow.orgUnits") {
		switch v := cleanPath(l.str(it, "an allow.orgUnits entry")); {
		case v == "":
			l.add(it, "empty allow.orgUnits entry", `name a unit, e.g. "Medicine"`)
		case strings.Contains(v, "*"):
			l.add(it, fmt.Sprintf("allow.orgUnits entry %q has a wildcard", v), `org units have none: "Medicine" already permits every unit below it`)
		default:
			a.OrgUnits = append(a.OrgUnits, v)
		}
	}
	return a
}

func (l *loader) precedence(n *yaml.Node) (map[string][]string, map[string]map[string]string) {
	m := l.mapping(n, "precedence")
	if len(m) == 0 {
		return nil, nil
	}
	p := make(map[string][]string, len(m))
	var writes map[string]map[string]string
	for attr, v := range m {
		srcs, policies := l.writeEntries(v, attr, append(slices.Clone(sources), l.connectorNames...))
		if policies != nil {
			if writes == nil {
				writes = map[string]map[string]string{}
			}
			writes[attr] = policies
		}
		if rv := l.resolve(v); !present(rv) || (rv.Kind == yaml.SequenceNode && len(rv.Content) == 0) {
			l.add(v, fmt.Sprintf("precedence.%s lists no sources", attr), "list sources highest first, e.g. [scim, admin], or remove it")
		}
		p[attr] = srcs
	}
	return p, writes
}

func (l *loader) rule(n *yaml.Node, c *Connector, seen map[string]int) *Rule {
	m := l.mapping(n, "rule")
	if m == nil {
		return nil
	}
	r := &Rule{Name: l.name(n, m, "rule", "within a connector", seen), Line: n.Line, reads: map[string]bool{}}
	ctx := fmt.Sprintf("rule %q", r.Name)
	// What the rule's expressions read, and the connector's too.
	connReads := l.reads
	l.reads = r.reads
	defer func() {
		if connReads != nil {
			for name := range r.reads {
				connReads[name] = true
			}
		}
		l.reads = connReads
	}()
	if v := m["if"]; present(l.resolve(v)) {
		expr := l.str(v, "if")
		switch {
		case strings.TrimSpace(expr) == "":
			l.add(v, ctx+": empty if", "omit if for a rule that always applies")
		case strings.Contains(expr, "${"):
			l.add(v, ctx+": if is a CEL expression, not a template", `drop the ${ }: write department == "Radiology"`)
		default:
			r.cond = l.program(ctx+": if", l.resolve(v), 0, expr, true)
		}
	}
	grant := func(key string, k Kind, v *yaml.Node) *template {
		t := l.template(ctx+": "+key, v)
		if lit, ok := t.literal(); ok {
			l.checkGrant(v, c, ctx, k, lit)
		}
		return t
	}
	if v := m["orgUnit"]; present(l.resolve(v)) {
		r.orgUnit = grant("orgUnit", KindOrgUnit, v)
	}
	for _, v := range l.seq(m["groups"], "groups") {
		r.groups = append(r.groups, grant("groups", KindGroup, v))
	}
	for _, v := range l.seq(m["roles"], "roles") {
		r.roles = append(r.roles, grant("roles", KindRole, v))
	}
	if v := m["status"]; present(l.resolve(v)) {
		r.status = l.template(ctx+": status", v)
		if lit, ok := r.status.literal(); ok && !slices.Contains(statuses, strings.TrimSpace(lit)) {
			l.add(v, fmt.Sprintf("%s: unknown status %q", ctx, lit), "use active, disabled or pending")
		}
	}
	when := func(key string) *template {
		v := m[key]
		if !present(l.resolve(v)) {
			return nil
		}
		t := l.template(ctx+": "+key, v)
		if lit, ok := t.literal(); ok {
			if _, err := parseTime(strings.TrimSpace(lit)); err != nil {
				l.add(v, fmt.Sprintf("%s: %s: %v", ctx, key, err), `write e.g. "2030-06-30", "2030-06-30 17:00", "2030-06-30T17:00:00+02:00" or 1909008000`)
			}
		}
		return t
	}
	r.accessStart, r.accessEnd = when("accessStart"), when("accessEnd")
	if v := m["externalId"]; present(l.resolve(v)) {
		r.externalID = l.template(ctx+": externalId", v)
	}
	r.skipMissing = l.boolean(m["skipMissing"], "skipMissing")
	if v := m["write"]; present(l.resolve(v)) {
		r.write = l.str(v, "write")
		if !slices.Contains(writePolicies, r.write) {
			l.add(v, fmt.Sprintf("%s: unknown write policy %q", ctx, r.write), didYouMean(r.write, writePolicies, "write policies"))
		}
	}
	return r
}

// checkGrant checks a literal grant against the connector's allow-list
// and, for a role, the tenant's catalogue.
func (l *loader) checkGrant(n *yaml.Node, c *Connector, ctx string, k Kind, lit string) {
	name := strings.TrimSpace(lit)
	if k == KindOrgUnit {
		name = cleanPath(lit)
	}
	if name == "" {
		l.add(n, fmt.Sprintf("%s: empty %s name", ctx, k), "remove it")
		return
	}
	if !c.Allow.Permits(k, name) {
		hint := fmt.Sprintf("add it to allow.%ss", k)
		if k == KindOrgUnit {
			hint = "add it, or a unit above it, to allow.orgUnits"
		}
		l.add(n, fmt.Sprintf("%s: %s %q is not permitted by allow.%ss of connector %q", ctx, k, name, k, c.Name), hint)
	}
	if k == KindRole && !c.Create.Roles && !slices.ContainsFunc(c.Roles, func(r RoleDef) bool { return r.Name == name }) {
		l.add(n, fmt.Sprintf("%s: role %q is not in the role catalogue of tenant %q", ctx, name, c.Tenant), "add it to the tenant's roles, or set create.roles: true")
	}
}

// connectorNames lists the names a connectors sequence gives, without
// reporting problems (the connectors' own loading does).
func connectorNames(n *yaml.Node) []string {
	var names []string
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	for _, c := range n.Content {
		if c.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(c.Content); i += 2 {
			if c.Content[i].Value == "name" && c.Content[i+1].Kind == yaml.ScalarNode {
				names = append(names, c.Content[i+1].Value)
			}
		}
	}
	return names
}
