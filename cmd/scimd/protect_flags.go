package main

import (
	"flag"
	"time"

	"github.com/scimd/scimd/scim/patch"
)

// protectionFlags adds serve's flags for p's fields. Each also reads the
// environment variable of its configuration key (server.readTimeout is
// SCIMD_SERVER_READ_TIMEOUT), which the command line overrides.
func protectionFlags(fs *flag.FlagSet, e env) *protection {
	p := &protection{}
	fs.Float64Var(&p.rate, "rate-limit", defaultRateLimit, "SCIM requests a second each connector may send; past it, 429 with Retry-After; 0: no limit (env SCIMD_LIMITS_CONNECTOR_RATE)")
	fs.IntVar(&p.burst, "rate-burst", defaultRateBurst, "requests a connector may send at once above --rate-limit (env SCIMD_LIMITS_CONNECTOR_BURST)")
	fs.Int64Var(&p.maxImport, "max-import-bytes", defaultMaxImport, "largest CSV import file accepted; larger ones get 413 (env SCIMD_LIMITS_MAX_IMPORT_BYTES)")
	fs.IntVar(&p.members, "max-patch-members", patch.DefaultMaxMembers, "most members a PATCH of a group may list; more get 413 (env SCIMD_LIMITS_MAX_PATCH_MEMBERS)")
	fs.DurationVar(&p.readHeaderTimeout, "read-header-timeout", 10*time.Second, "time a client has to send a request's headers (env SCIMD_SERVER_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&p.readTimeout, "read-timeout", time.Minute, "time a client has to send a whole request, body included (env SCIMD_SERVER_READ_TIMEOUT)")
	fs.DurationVar(&p.writeTimeout, "write-timeout", 5*time.Minute, "time to answer a request, from the end of its headers; a 100k-member group takes a while to send (env SCIMD_SERVER_WRITE_TIMEOUT)")
	fs.DurationVar(&p.idleTimeout, "idle-timeout", 2*time.Minute, "time a kept-alive connection may sit idle (env SCIMD_SERVER_IDLE_TIMEOUT)")
	fs.DurationVar(&p.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGTERM, time requests in flight have to finish (env SCIMD_SERVER_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&p.tlsCert, "tls-cert", "", "PEM certificate chain: serve HTTPS, re-reading the file when it changes (env SCIMD_SERVER_TLS_CERT; needs --tls-key)")
	fs.StringVar(&p.tlsKey, "tls-key", "", "PEM private key of --tls-cert (env SCIMD_SERVER_TLS_KEY)")
	for name, key := range map[string]string{
		"rate-limit": "SCIMD_LIMITS_CONNECTOR_RATE", "rate-burst": "SCIMD_LIMITS_CONNECTOR_BURST", "max-import-bytes": "SCIMD_LIMITS_MAX_IMPORT_BYTES", "max-patch-members": "SCIMD_LIMITS_MAX_PATCH_MEMBERS",
		"read-header-timeout": "SCIMD_SERVER_READ_HEADER_TIMEOUT", "read-timeout": "SCIMD_SERVER_READ_TIMEOUT",
		"write-timeout": "SCIMD_SERVER_WRITE_TIMEOUT", "idle-timeout": "SCIMD_SERVER_IDLE_TIMEOUT",
		"shutdown-timeout": "SCIMD_SERVER_SHUTDOWN_TIMEOUT", "tls-cert": "SCIMD_SERVER_TLS_CERT", "tls-key": "SCIMD_SERVER_TLS_KEY",
	} {
		if v := e.getenv(key); v != "" {
			if err := fs.Set(name, v); err != nil && p.err == nil {
				p.err = usageError("%s %q: %v", key, v, err)
			}
		}
	}
	return p
}

// check reports a bad environment value or flag combination.
func (p *protection) check() error {
	switch {
	case p.err != nil:
		return p.err
	case (p.tlsCert == "") != (p.tlsKey == ""):
		return usageError("--tls-cert and --tls-key go together")
	case p.rate < 0 || p.burst < 0 || p.members < 0:
		return usageError("--rate-limit, --rate-burst and --max-patch-members cannot be negative")
	}
	return nil
}
