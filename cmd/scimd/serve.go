package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/console"
	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/mailer"
	"github.com/scimd/scimd/ops"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
)

func serve(ctx context.Context, e env, args []string) error {
	fs := flags(e, "serve", "serve [--config FILE] [--addr ADDR] [--database-url URL] [--base-url URL] [flags]")
	settingsFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := loadSettings(e, fs)
	if err != nil {
		return err
	}
	cfg := st.Connectors
	prot := &protection{rate: st.Limits.ConnectorRate, burst: st.Limits.ConnectorBurst,
		maxImport: st.Limits.MaxImportBytes, members: st.Limits.MaxPatchMembers,
		readHeaderTimeout: st.Server.ReadHeaderTimeout, readTimeout: st.Server.ReadTimeout,
		writeTimeout: st.Server.WriteTimeout, idleTimeout: st.Server.IdleTimeout, shutdownTimeout: st.Server.ShutdownTimeout,
		tlsCert: st.Server.TLS.Cert, tlsKey: st.Server.TLS.Key}
	log := ops.NewLogger(e.stderr)
	for _, n := range st.Unused {
		log.Warn("environment variable sets no configuration key (fine if a connector's clientSecretEnv names it)", "variable", n)
	}

	if st.Server.OTLPEndpoint == "" {
		st.Server.OTLPEndpoint = e.getenv("OTEL_EXPORTER_OTLP_ENDPOINT") // OpenTelemetry's own variable
	}
	opsf := &opsFlags{addr: &st.Server.OpsAddr, addrGiven: st.Given["server.opsAddr"], pprof: &st.Server.Pprof, otlp: &st.Server.OTLPEndpoint}
	obs, err := newObservability(ctx, opsf, log)
	if err != nil {
		return err
	}
	defer obs.close(ctx)

	db, err := openStore(ctx, st.Database.URL, obs.storeOptions()...)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.ListenVia(st.Database.ListenURL); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", st.Server.Addr)
	if err != nil {
		return err
	}
	engine := reconcile.New(db, cfg)
	if err := obs.start(db, engine, cfg); err != nil {
		ln.Close()
		return err
	}
	links := st.Server.PublicURL
	if links == "" {
		links = cmp.Or(st.Server.BaseURL, "http://"+ln.Addr().String())
	}
	engine.SetMail(reconcile.MailConfig{PublicURL: links})
	// A job a stopped process left running wrote nothing (a load is one
	// transaction): say so, rather than show it running for ever. On
	// PostgreSQL other replicas may be running jobs: only those gone
	// quiet are dead.
	before := time.Now()
	if db.Dialect() == store.Postgres {
		before = before.Add(-st.Imports.Stale)
	}
	if n, err := engine.FailStaleImportJobs(ctx, before, admin.InterruptedReport); err != nil {
		ln.Close()
		return err
	} else if n > 0 {
		log.Warn("import jobs interrupted by a stop marked failed", "jobs", n)
	}
	worker := mailer.New(mailer.Config{Addr: st.SMTP.Addr, From: st.SMTP.From, Username: st.SMTP.User, Password: st.SMTP.Password,
		Rate: st.SMTP.Rate, Logger: log}, db)
	// Not ctx: on SIGTERM the worker goes on sending what the requests
	// in flight queue, and stops (releasing what it claimed) once the
	// server has shut down, by the deferred stopMail.
	mailCtx, stopMail := context.WithCancel(context.WithoutCancel(ctx))
	mailDone := make(chan error, 1)
	go func() { mailDone <- worker.Run(mailCtx) }()
	defer func() { stopMail(); <-mailDone }()

	var reqlog *reconcile.RequestLog
	if st.RequestLog.Rows > 0 {
		reqlog = engine.StartRequestLog(reconcile.RequestLogConfig{MaxRows: st.RequestLog.Rows, MaxAge: st.RequestLog.Age, Logger: log})
		// After the server's shutdown: the requests it answered last are
		// written.
		defer func() {
			flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			reqlog.Close(flush)
			if n := reqlog.Dropped(); n > 0 {
				log.Warn("request log: requests not logged (queue full or write failed)", "requests", n)
			}
		}()
	}
	srv := prot.server(obs.handler(loggedRoutes(db, engine, st.Server.BaseURL, st.Limits.MaxBodyBytes, st.Imports.Stale, log, reqlog, prot.limits())))
	srv.MaxHeaderBytes = st.Limits.MaxHeaderBytes
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	ln, scheme, err := prot.listen(ln)
	if err != nil {
		return err
	}
	log.Info("scimd listening", "url", scheme+"://"+ln.Addr().String(), "database", string(db.Dialect()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("scimd shutting down")
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), st.Server.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// routes is scimd's top-level route table. Each source serves below its
// own prefix, reading through the store's read-only view and writing
// through the engine; only this table holds the database itself.
//
//	GET  /healthz      the process is up
//	GET  /readyz       the database answers
//	     /scim/v2/     SCIM 2.0 (scim.NewHandler): /scim/v2/{tenant}/Users, ...
//	     /admin/v1/    the admin API (admin.NewHandler): /admin/v1/{tenant}/...
//	POST /jit/{tenant}/{connector}   the ID-token hook (jit.NewHook)
//	POST /auth/{tenant}/logout   ends the sign-in session (jit.Sessions)
//	GET  /auth/{tenant}/{connector}/login      browser login (jit.RP)
//	GET  /auth/{tenant}/{connector}/callback   its callback
//	GET|POST /activate/{token}   an activation link (jit.Activation)
//	     /console/     the admin console (console.NewHandler), a client of the admin API;
//	                   its SSO sign-in is the browser login above, back to /console/{tenant}/sso (consoleSSO)
//
// importStale is admin.Config.ImportStale (0: its default).
//
// /scim/v2/{tenant}/Me answers for the session's person: jit's resolver is
// handed to scim here, as the two do not import each other.
func routes(db *store.DB, engine *reconcile.Engine, baseURL string, maxBody int64, importStale time.Duration, log *slog.Logger) http.Handler {
	return loggedRoutes(db, engine, baseURL, maxBody, importStale, log, nil, limits{})
}

// loggedRoutes is routes with the SCIM request log reqlog (nil: none) and
// the limits lim (protect.go). The admin API replays logged requests
// through the SCIM endpoint.
func loggedRoutes(db *store.DB, engine *reconcile.Engine, baseURL string, maxBody int64, importStale time.Duration, log *slog.Logger, reqlog *reconcile.RequestLog, lim limits) http.Handler {
	mux := http.NewServeMux()
	outage := store.NewOutage(log) // one for all: an outage is logged once
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.Ping(r.Context()); err != nil {
			outage.Begin(r.Context(), err)
			w.Header().Set("Retry-After", store.RetryAfter)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		outage.End(r.Context())
		io.WriteString(w, "ok\n")
	})
	sessions := jit.NewSessions(jit.SessionConfig{BaseURL: baseURL, Logger: log}, engine)
	scimCfg := scim.Config{BaseURL: baseURL, MaxBodyBytes: maxBody, Logger: log, Outage: outage, Session: sessions.Resolve,
		RateLimit: lim.rate, RateBurst: lim.burst, MaxPatchMembers: lim.members, MaxImportBytes: cmp.Or(lim.maxImport, admin.DefaultMaxImportBytes)}
	if reqlog != nil {
		scimCfg.RequestLog = reqlog
	}
	scimSrv := scim.NewServer(scimCfg, db.Reader(), engine)
	mux.Handle("/scim/v2/", scimSrv)
	mux.HandleFunc("/auth/{tenant}/logout", sessions.ServeLogout)
	verifiers := jit.NewVerifiers(nil, nil) // one per provider, for the hook and the login
	rp := jit.NewRP(jit.RPConfig{BaseURL: baseURL, Verifiers: verifiers, Logger: log}, db.Reader(), engine, sessions)
	mux.HandleFunc("GET /auth/{tenant}/{connector}/login", rp.ServeLogin)
	mux.HandleFunc("GET /auth/{tenant}/{connector}/callback", rp.ServeCallback)
	adminAPI := admin.NewHandler(admin.Config{MaxBodyBytes: maxBody, Logger: log, Outage: outage,
		Importer: importer{engine}, ImportStale: importStale, MaxImportBytes: lim.maxImport, Exporter: csvExporter{db.Reader(), engine},
		Replayer: scimSrv}, db.Reader(), engine)
	mux.Handle("/admin/v1/", adminAPI)
	// The console calls the admin API in process, as its signed-in
	// administrator: admin.WithPrincipal is set here and nowhere else.
	mux.Handle("/console/", console.NewHandler(console.Config{Admin: adminAPI, WithPrincipal: admin.WithPrincipal,
		Auth: consoleAuth{engine}, SSO: consoleSSO{engine}, BaseURL: baseURL, Logger: log, MaxImportBytes: lim.maxImport}))
	activation := jit.NewActivation(engine, log)
	mux.Handle("GET /activate/{token}", activation)
	mux.Handle("POST /activate/{token}", activation)
	mux.Handle("/jit/{tenant}/{connector}", jit.NewHook(jit.HookConfig{Verifiers: verifiers, Logger: log}, db.Reader(), engine))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such endpoint: SCIM is under /scim/v2/{tenant}/, the admin API under /admin/v1/{tenant}/, the admin console under /console/{tenant}/, sign-in under /auth/{tenant}/, the ID-token hook at /jit/{tenant}/{connector}", http.StatusNotFound)
	})
	return mux
}

// flagSet reports whether the command line set the named flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
