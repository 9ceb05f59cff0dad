package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	envp "github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/reconcile/rules"
)

// Settings is everything serve runs with: the server's own keys, from the
// configuration file's server, database, limits, smtp, requestLog and
// imports sections, then SCIMD_* environment variables, then the flags
// set on the command line (each layer over the one before), and the
// connector configuration from the same file's tenants section.
type Settings struct {
	Server struct {
		Addr, BaseURL, PublicURL string
		// OpsAddr is the metrics and health listener's address.
		// OpsAddr is off for none; Pprof serves the profiler there.
		// OTLPEndpoint, when set, is where traces go.
		OpsAddr, OTLPEndpoint                                                      string
		Pprof                                                                      bool
		TLS                                                                        struct{ Cert, Key string }
		ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
	}
	Database struct{ URL, ListenURL string }
	Limits   struct {
		MaxBodyBytes   int64
		MaxHeaderBytes int
		// ConnectorRate is requests per second per connector (0: no limit),
		// ConnectorBurst how many may come at once.
		ConnectorRate  float64
		ConnectorBurst int
		// MaxImportBytes bounds a CSV import, MaxPatchMembers the
		// members one PATCH of a group lists.
		MaxImportBytes  int64
		MaxPatchMembers int
	}
	SMTP struct {
		Addr, From, User, Password string
		Rate                       float64
	}
	RequestLog struct {
		Rows int
		Age  time.Duration
	}
	Imports struct{ Stale time.Duration }

	// Given holds the keys a file, a variable or a flag set (the rest are
	// defaults).
	Given map[string]bool

	// File is the configuration file read ("" none), Connectors its
	// tenants section (nil without a file).
	File       string
	Connectors *rules.Config
	// Unused lists SCIMD_* variables that set no key and that the
	// connector configuration does not name: warnings, not errors, since
	// a configuration saved through the admin API may name them as an
	// OIDC client secret (clientSecretEnv).
	Unused []string
}

// check is how a setting's value is checked beyond its type.
type check int

const (
	anyValue      check = iota
	hostPort            // host:port, host may be empty
	hostPortOrOff       // hostPort, or off
	absURL              // an absolute http(s) URL, or empty
	nonNegative
	positive
)

// setting is one configuration key.
type setting struct {
	key  string // "server.baseURL"
	flag string // serve's flag, "" none
	// aliases are environment variables read before the key's own name
	// was derived from it; the key's own name wins over them.
	aliases []string
	def     string // default, as it would be written
	check   check
	// secret: the value also comes from the file that env_FILE names,
	// and it is never shown.
	secret bool
	help   string
	field  func(*Settings) any // a pointer to the field
}

// settings is every key the configuration file's server sections, the
// environment and serve's flags may set, in the order the README lists
// them.
var settings = []setting{
	{key: "server.addr", flag: "addr", aliases: []string{"SCIMD_ADDR"}, def: "127.0.0.1:8080", check: hostPort,
		help: "address to listen on", field: func(s *Settings) any { return &s.Server.Addr }},
	{key: "server.baseURL", flag: "base-url", aliases: []string{"SCIMD_BASE_URL"}, check: absURL,
		help: "public URL for meta.location, e.g. https://scim.example.com (default: from each request's Host)", field: func(s *Settings) any { return &s.Server.BaseURL }},
	{key: "server.publicURL", flag: "public-url", aliases: []string{"SCIMD_PUBLIC_URL"}, check: absURL,
		help: "the URL people reach scimd at, the base of activation links, e.g. https://id.example.com (default: baseURL)", field: func(s *Settings) any { return &s.Server.PublicURL }},
	{key: "server.opsAddr", flag: "ops-addr", aliases: []string{"SCIMD_OPS_ADDR"}, def: "127.0.0.1:9090", check: hostPortOrOff,
		help: "address of the operations listener (/metrics, /healthz, /readyz, pprof with server.pprof), or off", field: func(s *Settings) any { return &s.Server.OpsAddr }},
	{key: "server.pprof", flag: "pprof", aliases: []string{"SCIMD_PPROF"}, def: "false",
		help: "serve net/http/pprof at /debug/pprof/ on the operations listener", field: func(s *Settings) any { return &s.Server.Pprof }},
	{key: "server.otlpEndpoint", flag: "otlp-endpoint", aliases: []string{"SCIMD_OTLP_ENDPOINT"}, check: absURL,
		help: "OTLP/HTTP endpoint traces go to, e.g. http://127.0.0.1:4318 (else OTEL_EXPORTER_OTLP_ENDPOINT; none: no tracing)", field: func(s *Settings) any { return &s.Server.OTLPEndpoint }},
	{key: "server.tls.cert", flag: "tls-cert", help: "PEM certificate file: serve HTTPS (with server.tls.key)", field: func(s *Settings) any { return &s.Server.TLS.Cert }},
	{key: "server.tls.key", flag: "tls-key", help: "PEM private key file of server.tls.cert", field: func(s *Settings) any { return &s.Server.TLS.Key }},
	{key: "server.readHeaderTimeout", def: "10s", check: positive,
		help: "longest wait for a request's headers", field: func(s *Settings) any { return &s.Server.ReadHeaderTimeout }},
	{key: "server.readTimeout", def: "1m", check: positive,
		help: "longest wait for a whole request", field: func(s *Settings) any { return &s.Server.ReadTimeout }},
	{key: "server.writeTimeout", def: "5m", check: positive,
		help: "longest time to send a response (a 100k-member group takes a while)", field: func(s *Settings) any { return &s.Server.WriteTimeout }},
	{key: "server.idleTimeout", def: "2m", check: positive,
		help: "how long an idle keep-alive connection stays open", field: func(s *Settings) any { return &s.Server.IdleTimeout }},
	{key: "server.shutdownTimeout", def: "15s", check: positive,
		help: "how long a stop waits for requests in flight", field: func(s *Settings) any { return &s.Server.ShutdownTimeout }},
	{key: "database.url", flag: "database-url", def: "scimd.db", secret: true,
		help: "database: a postgres:// URL, or an SQLite file path", field: func(s *Settings) any { return &s.Database.URL }},
	{key: "database.listenURL", flag: "listen-database-url", aliases: []string{"SCIMD_LISTEN_DATABASE_URL"}, secret: true,
		help:  "PostgreSQL only: the direct URL the token-revocation listener uses when database.url goes through a transaction-pooling proxy, or off to cache no tokens",
		field: func(s *Settings) any { return &s.Database.ListenURL }},
	{key: "limits.maxBodyBytes", flag: "max-body-bytes", def: "1048576", check: positive,
		help: "largest request body accepted; larger ones get 413", field: func(s *Settings) any { return &s.Limits.MaxBodyBytes }},
	{key: "limits.maxHeaderBytes", def: "65536", check: positive,
		help: "largest request header block accepted", field: func(s *Settings) any { return &s.Limits.MaxHeaderBytes }},
	{key: "limits.connectorRate", flag: "rate-limit", def: "100", check: nonNegative,
		help: "SCIM requests per second per connector, past which 429 with Retry-After; 0: no limit", field: func(s *Settings) any { return &s.Limits.ConnectorRate }},
	{key: "limits.connectorBurst", flag: "rate-burst", def: "200", check: nonNegative,
		help: "requests a connector may send at once above its rate", field: func(s *Settings) any { return &s.Limits.ConnectorBurst }},
	{key: "limits.maxImportBytes", flag: "max-import-bytes", def: "104857600", check: positive,
		help: "largest CSV import file accepted; larger ones get 413", field: func(s *Settings) any { return &s.Limits.MaxImportBytes }},
	{key: "limits.maxPatchMembers", flag: "max-patch-members", def: "1000", check: positive,
		help: "most members one PATCH of a group may list; more get 413", field: func(s *Settings) any { return &s.Limits.MaxPatchMembers }},
	{key: "smtp.addr", flag: "smtp-addr", check: hostPort,
		help: "SMTP server host:port for activation and import messages; none: they stay queued", field: func(s *Settings) any { return &s.SMTP.Addr }},
	{key: "smtp.from", flag: "smtp-from", help: "sender address of messages", field: func(s *Settings) any { return &s.SMTP.From }},
	{key: "smtp.user", flag: "smtp-user", help: "SMTP user name", field: func(s *Settings) any { return &s.SMTP.User }},
	{key: "smtp.password", secret: true, help: "SMTP password (never a flag)", field: func(s *Settings) any { return &s.SMTP.Password }},
	{key: "smtp.rate", flag: "mail-rate", def: "10", check: positive,
		help: "messages per second per tenant", field: func(s *Settings) any { return &s.SMTP.Rate }},
	{key: "requestLog.rows", flag: "request-log-rows", def: "10000", check: nonNegative,
		help: "SCIM requests kept per connector in its request log; 0 keeps none (logging off)", field: func(s *Settings) any { return &s.RequestLog.Rows }},
	{key: "requestLog.age", flag: "request-log-age", def: "168h", check: positive,
		help: "how long a connector's logged SCIM requests are kept", field: func(s *Settings) any { return &s.RequestLog.Age }},
	{key: "imports.stale", flag: "import-stale", aliases: []string{"SCIMD_IMPORT_STALE"}, def: admin.DefaultImportStale.String(), check: positive,
		help:  "PostgreSQL: how long an unfinished import job may go without news from its replica before it is taken for dead and marked failed",
		field: func(s *Settings) any { return &s.Imports.Stale }},
}

// configEnv names the configuration file when --config does not.
const configEnv = "SCIMD_CONFIG"

// ignoredEnv are SCIMD_* variables that are no setting but are not
// misspellings of one either: the tests' knobs.
var ignoredEnv = []string{"SCIMD_CONFORMANCE_DIR", "SCIMD_LOAD_ROWS", "SCIMD_IMPACT_USERS"}

// envName is the environment variable of a key: SCIMD_, then the key in
// upper case with a _ for each dot and before each capital that follows a
// small letter or digit: server.baseURL is SCIMD_SERVER_BASE_URL.
func envName(key string) string {
	var b strings.Builder
	b.WriteString("SCIMD_")
	var prev rune
	for _, r := range key {
		switch {
		case r == '.':
			b.WriteByte('_')
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
		prev = r
	}
	return b.String()
}

// sections are the file's top-level keys other than tenants.
func sections() []string {
	var out []string
	for _, s := range settings {
		sec, _, _ := strings.Cut(s.key, ".")
		if !slices.Contains(out, sec) {
			out = append(out, sec)
		}
	}
	return out
}

// settingsFlags adds serve's flags, one per key that has one, and
// --config. Their defaults are shown as the built-in ones; a flag only
// counts when the command line sets it.
func settingsFlags(fs *flag.FlagSet) {
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		help := fmt.Sprintf("%s (env %s; config %s)", s.help, envName(s.key), s.key)
		if _, isBool := s.field(&Settings{}).(*bool); isBool {
			fs.Bool(s.flag, s.def == "true", help)
			continue
		}
		fs.String(s.flag, s.def, help)
	}
	fs.String("config", "", configUsage)
}

// source is where a value came from, as problems name it.
type source struct {
	where     string // file name, variable or flag
	line, col int
}

// loadSettings reads the configuration: defaults, then the file (--config
// if fs has it set, else SCIMD_CONFIG), then the environment, then the
// flags fs had set (nil: none). Every problem found, in the file, the
// environment or the flags, is in the one *[rules.Error] it returns.
func loadSettings(e env, fs *flag.FlagSet) (*Settings, error) {
	st := &Settings{File: e.getenv(configEnv), Given: map[string]bool{}}
	if fs != nil {
		if f := fs.Lookup("config"); f != nil && flagSet(fs, "config") {
			st.File = f.Value.String()
		}
	}
	var problems []rules.Problem
	add := func(src source, key, msg, hint string) {
		if key != "" {
			msg = key + ": " + msg
		}
		problems = append(problems, rules.Problem{File: src.where, Line: src.line, Column: src.col, Msg: msg, Hint: hint})
	}

	// Layers, each a koanf of its own so that a value's source is known;
	// merged, each over the one before.
	defaults := map[string]any{}
	for _, s := range settings {
		defaults[s.key] = s.def
	}
	layers := []*koanf.Koanf{koanf.New("."), koanf.New("."), koanf.New("."), koanf.New(".")}
	const (
		lDefault = iota
		lFile
		lEnv
		lFlag
	)
	if err := layers[lDefault].Load(confmap.Provider(defaults, "."), nil); err != nil {
		return nil, err
	}

	var positions map[string]source
	secretEnv := map[string]bool{} // variables the connector configuration names
	if st.File != "" {
		var cfg *rules.Config
		var err error
		var invalid *rules.Error
		positions, cfg, err = loadFile(st.File)
		switch {
		case errors.As(err, &invalid):
			problems = append(problems, invalid.Problems...)
		case err != nil:
			return nil, err
		default:
			st.Connectors = cfg
			for _, t := range cfg.Tenants {
				for _, c := range t.Connectors {
					if c.OIDC != nil && c.OIDC.ClientSecretEnv != "" {
						secretEnv[c.OIDC.ClientSecretEnv] = true
					}
				}
			}
		}
		if positions != nil { // it parsed
			if err := layers[lFile].Load(file.Provider(st.File), yaml.Parser()); err != nil {
				add(source{where: st.File}, "", err.Error(), "")
			}
		}
	}

	ev := readEnv(e, secretEnv, add)
	st.Unused = ev.unused
	if err := layers[lEnv].Load(envp.Provider(".", envp.Opt{
		Prefix: "SCIMD_",
		EnvironFunc: func() []string {
			var out []string
			for n, v := range ev.values {
				out = append(out, n+"="+v)
			}
			return out
		},
		TransformFunc: func(n, v string) (string, any) { return ev.key[n], v },
	}), nil); err != nil {
		return nil, err
	}

	flagValues := map[string]any{}
	flagOf := map[string]string{}
	if fs != nil {
		for _, s := range settings {
			if s.flag != "" && flagSet(fs, s.flag) {
				flagValues[s.key] = fs.Lookup(s.flag).Value.String()
				flagOf[s.key] = "--" + s.flag
			}
		}
	}
	if err := layers[lFlag].Load(confmap.Provider(flagValues, "."), nil); err != nil {
		return nil, err
	}

	k := koanf.New(".")
	for _, l := range layers {
		if err := k.Merge(l); err != nil {
			return nil, err
		}
	}
	sources := map[string]source{}
	for _, s := range settings {
		var src source
		switch {
		case layers[lFlag].Exists(s.key):
			src = source{where: flagOf[s.key]}
		case layers[lEnv].Exists(s.key):
			src = source{where: ev.from[s.key]}
		case layers[lFile].Exists(s.key):
			src = positions[s.key]
		default:
			src = source{where: "default"}
		}
		sources[s.key] = src
		if src.where != "default" {
			st.Given[s.key] = true
		}
		if msg, hint := setField(s, st, k.Get(s.key)); msg != "" {
			add(src, s.key, msg, hint)
		}
	}
	if (st.Server.TLS.Cert == "") != (st.Server.TLS.Key == "") {
		set, other := "server.tls.cert", "server.tls.key"
		if st.Server.TLS.Cert == "" {
			set, other = other, set
		}
		add(sources[set], set, "is set without "+other, "set both, or neither for plain HTTP")
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b rules.Problem) int {
			return cmp.Or(cmp.Compare(rank(a, st.File), rank(b, st.File)), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, &rules.Error{Problems: problems}
	}
	return st, nil
}

// envSettings is what the environment sets.
type envSettings struct {
	values map[string]string // variable -> value, one variable per key
	from   map[string]string // key -> the variable its value came from
	key    map[string]string // variable -> key
	// unused are SCIMD_* variables that set no key, are named by no
	// connector (secretEnv) and are no misspelling of a known variable.
	unused []string
}

// readEnv reads the SCIMD_* variables of e, adding a problem for each
// that is wrong: a misspelt name, a secret set twice, an unreadable
// _FILE.
func readEnv(e env, secretEnv map[string]bool, add func(src source, key, msg, hint string)) envSettings {
	ev := envSettings{values: map[string]string{}, from: map[string]string{}, key: map[string]string{}}
	known := map[string]bool{configEnv: true}
	for _, s := range settings {
		name := envName(s.key)
		ev.key[name] = s.key
		known[name] = true
		if s.secret {
			ev.key[name+"_FILE"] = s.key
			known[name+"_FILE"] = true
		}
		for _, a := range s.aliases {
			ev.key[a] = s.key
			known[a] = true
		}
	}
	environ := e.environ
	if environ == nil { // only the names known: no check for unknown ones
		environ = func() []string {
			var out []string
			for _, n := range slices.Sorted(maps.Keys(known)) {
				if v := e.getenv(n); v != "" {
					out = append(out, n+"="+v)
				}
			}
			return out
		}
	}
	fromEnv := map[string]string{} // variable -> value, set ones only
	for _, kv := range environ() {
		if n, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(n, "SCIMD_") && v != "" {
			fromEnv[n] = v
		}
	}
	for _, n := range slices.Sorted(maps.Keys(fromEnv)) {
		if known[n] || secretEnv[n] || slices.Contains(ignoredEnv, n) || strings.HasPrefix(n, "SCIMD_TEST_") {
			continue
		}
		if near := nearest(n, slices.Collect(maps.Keys(known))); near != "" || sectionOf(n) != "" {
			hint := "variables: see the README's Configuration section"
			if near != "" {
				hint = "did you mean " + near + "?"
			}
			add(source{where: n}, "", "environment variable sets no configuration key", hint)
			continue
		}
		ev.unused = append(ev.unused, n)
	}
	// Each key's value: from its own variable, else the first alias set,
	// else the file its _FILE variable names.
	for _, s := range settings {
		names := append([]string{envName(s.key)}, s.aliases...)
		var got []string
		for _, n := range names {
			if v, ok := fromEnv[n]; ok {
				got = append(got, n)
				if _, done := ev.from[s.key]; !done {
					ev.values[n], ev.from[s.key] = v, n
				}
			}
		}
		if !s.secret {
			continue
		}
		fn := envName(s.key) + "_FILE"
		path, ok := fromEnv[fn]
		if !ok {
			continue
		}
		if len(got) > 0 {
			add(source{where: fn}, s.key, fmt.Sprintf("both %s and %s are set", got[0], fn), "keep one")
			continue
		}
		b, err := os.ReadFile(path)
		v := strings.TrimRight(string(b), "\r\n")
		switch {
		case err != nil:
			add(source{where: fn}, s.key, err.Error(), "name a readable file holding the value")
		case v == "":
			add(source{where: fn}, s.key, fmt.Sprintf("file %s is empty", path), "")
		default:
			ev.values[fn], ev.from[s.key] = v, fn
		}
	}
	return ev
}

// rank orders problems: the file's, then the environment's, then flags'.
func rank(p rules.Problem, file string) int {
	switch {
	case p.File == file:
		return 0
	case strings.HasPrefix(p.File, "SCIMD_"):
		return 1
	}
	return 2
}

// sectionOf returns the key section a variable's name falls in ("" none):
// SCIMD_SERVER_ADRESS is in server.
func sectionOf(name string) string {
	for _, sec := range sections() {
		if strings.HasPrefix(name, envName(sec)+"_") {
			return sec
		}
	}
	return ""
}

// setField parses v (a string from the environment, a flag or a default,
// or what YAML made of the file's value) into s's field of st. It returns
// what is wrong with it, if anything.
func setField(s setting, st *Settings, v any) (msg, hint string) {
	text, isText := v.(string)
	if !isText {
		switch v.(type) {
		case map[string]any, []any:
			return "must be a single value, not a mapping or list", ""
		case nil:
			text = ""
		default:
			text = fmt.Sprint(v)
		}
	}
	text = strings.TrimSpace(text)
	shown := strconv.Quote(text)
	if s.secret {
		shown = "the value"
	}
	var n float64 // for the range checks
	switch p := s.field(st).(type) {
	case *string:
		*p = text
		switch {
		case text == "":
		case s.check == hostPortOrOff && text == "off":
		case s.check == hostPort, s.check == hostPortOrOff:
			if _, port, err := net.SplitHostPort(text); err != nil || port == "" {
				return shown + " is not host:port", "e.g. 127.0.0.1:8080, or :8080 for every interface"
			}
		case s.check == absURL:
			if u, err := url.Parse(text); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return shown + " is not an absolute http(s) URL", "e.g. https://scim.example.com"
			}
		}
		return "", ""
	case *time.Duration:
		if !isText {
			return fmt.Sprintf("%v has no unit", v), "write a duration such as 30s, 5m or 168h"
		}
		d, err := time.ParseDuration(text)
		if err != nil {
			return shown + " is not a duration", "write a duration such as 30s, 5m or 168h"
		}
		*p, n = d, float64(d)
	case *int:
		i, err := strconv.Atoi(text)
		if err != nil {
			return shown + " is not a whole number", ""
		}
		*p, n = i, float64(i)
	case *int64:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return shown + " is not a whole number", ""
		}
		*p, n = i, float64(i)
	case *bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return shown + " is not true or false", ""
		}
		*p = b
	case *float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return shown + " is not a number", ""
		}
		*p, n = f, f
	}
	switch {
	case s.check == positive && n <= 0:
		return shown + " must be more than 0", ""
	case s.check == nonNegative && n < 0:
		return shown + " must not be negative", ""
	}
	return "", ""
}

// nearest returns the name in known at most two edits from name, if one
// is: the variable a misspelt one meant.
func nearest(name string, known []string) string {
	best, dist := "", 3
	for _, k := range slices.Sorted(slices.Values(known)) {
		if d := rules.EditDistance(name, k); d < dist {
			best, dist = k, d
		}
	}
	return best
}

// scanFile finds where each server key is set in the configuration file
// data and what is wrong with the file's layout: unknown sections and
// keys, values that are no mapping. It returns the file with only its
// tenants section left (the other lines blank, so that the lines rules.Load
// names are the file's). positions is nil when data is no YAML mapping
// (or empty): then tenants is data, for rules.Load to report that.
func scanFile(name string, data []byte) (positions map[string]source, tenants []byte, problems []rules.Problem) {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		return nil, data, nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yamlv3.MappingNode {
		return nil, data, nil // rules.Load says what the file must be
	}
	positions = map[string]source{}
	top := doc.Content[0]
	add := func(n *yamlv3.Node, msg, hint string) {
		problems = append(problems, rules.Problem{File: name, Line: n.Line, Column: n.Column, Msg: msg, Hint: hint})
	}
	accepted := map[string][]string{} // key path -> the keys its mapping takes
	for _, s := range settings {
		parts := strings.Split(s.key, ".")
		for i := range parts {
			parent := strings.Join(parts[:i], ".")
			if !slices.Contains(accepted[parent], parts[i]) {
				accepted[parent] = append(accepted[parent], parts[i])
			}
		}
	}
	accepted[""] = append(accepted[""], "tenants")
	var walk func(n *yamlv3.Node, path string)
	walk = func(n *yamlv3.Node, path string) {
		if n.Kind == yamlv3.AliasNode {
			n = n.Alias
		}
		if n.Kind != yamlv3.MappingNode {
			if n.Tag != "!!null" {
				add(n, path+" must be a mapping of keys to values", "keys: "+strings.Join(accepted[path], ", "))
			}
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if path != "" {
				key = path + "." + k.Value
			}
			_, seen := positions[key]
			switch {
			case path == "" && key == "tenants":
			case !slices.Contains(accepted[path], k.Value):
				in := "in " + path
				if path == "" {
					in = "in the file"
				}
				hint := "keys: " + strings.Join(accepted[path], ", ")
				if near := nearest(k.Value, accepted[path]); near != "" {
					hint = "did you mean " + near + "? " + hint
				}
				add(k, fmt.Sprintf("unknown key %q %s", k.Value, in), hint)
			case seen:
				add(k, fmt.Sprintf("key %s repeated", key), fmt.Sprintf("it is first set at line %d: keep one", positions[key].line))
			case len(accepted[key]) > 0: // a section
				positions[key] = source{where: name, line: k.Line, col: k.Column}
				walk(v, key)
			default:
				positions[key] = source{where: name, line: v.Line, col: v.Column}
			}
		}
	}
	walk(top, "")

	// Blank the lines of every top-level key but tenants: in block style
	// a key's lines run to the next key's.
	lines := strings.SplitAfter(string(data), "\n")
	if top.Style&yamlv3.FlowStyle != 0 {
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value != "tenants" {
				add(top, "a file with server sections must be written in block style at its top level", "one key per line: server:, tenants:, ...")
				return positions, data, problems
			}
		}
		return positions, data, problems
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "tenants" {
			continue
		}
		from, to := top.Content[i].Line-1, len(lines)
		if i+2 < len(top.Content) {
			to = top.Content[i+2].Line - 1
		}
		for j := from; j < to && j < len(lines); j++ {
			lines[j] = "\n"
		}
	}
	return positions, []byte(strings.Join(lines, "")), problems
}

// configCheck is "scimd config check": it loads the configuration as
// serve would, and reports. Problems are a *rules.Error: exit 3.
func configCheck(ctx context.Context, e env, args []string) error {
	fs := flags(e, "config check", "config check [--config FILE]")
	fs.String("config", "", configUsage)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q: name the file with --config", fs.Arg(0))
	}
	st, err := loadSettings(e, fs)
	if err != nil {
		return err
	}
	for _, n := range st.Unused {
		fmt.Fprintf(e.stderr, "warning: %s sets no configuration key (fine if a connector's clientSecretEnv names it)\n", n)
	}
	if st.File == "" {
		fmt.Fprintln(e.stdout, "OK: no configuration file; the environment's settings are valid")
		return nil
	}
	tenants := 0
	if st.Connectors != nil {
		tenants = len(st.Connectors.Tenants)
	}
	fmt.Fprintf(e.stdout, "OK: %s (%d tenant(s)) and the environment's settings are valid\n", st.File, tenants)
	return nil
}
