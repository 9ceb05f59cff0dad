package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
)

func serve(ctx context.Context, e env, args []string) error {
	fs := flags(e, "serve", "serve [--addr ADDR] [--database-url URL] [--base-url URL] [--config FILE]")
	addr := fs.String("addr", envOr(e, "SCIMD_ADDR", "127.0.0.1:8080"), "address to listen on (env SCIMD_ADDR)")
	dsn := databaseFlag(fs, e)
	baseURL := fs.String("base-url", e.getenv("SCIMD_BASE_URL"),
		"public URL for meta.location, e.g. https://scim.example.com (env SCIMD_BASE_URL; default: from each request's Host)")
	maxBody := fs.Int64("max-body-bytes", 1<<20, "largest request body accepted; larger ones get 413")
	listenURL := fs.String("listen-database-url", e.getenv("SCIMD_LISTEN_DATABASE_URL"),
		"PostgreSQL only: the direct URL the token-revocation listener uses when --database-url goes through a transaction-pooling proxy, or off to cache no tokens (env SCIMD_LISTEN_DATABASE_URL)")
	configPath := configFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))

	db, err := openStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.ListenVia(*listenURL); err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           routes(db, reconcile.New(db, cfg), *baseURL, *maxBody, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      5 * time.Minute, // a 100k-member group takes a while to send
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("scimd listening", "url", "http://"+ln.Addr().String(), "database", string(db.Dialect()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("scimd shutting down")
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
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
//
// /scim/v2/{tenant}/Me answers for the session's person: jit's resolver is
// handed to scim here, as the two do not import each other.
func routes(db *store.DB, engine *reconcile.Engine, baseURL string, maxBody int64, log *slog.Logger) http.Handler {
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
	mux.Handle("/scim/v2/", scim.NewHandler(scim.Config{BaseURL: baseURL, MaxBodyBytes: maxBody, Logger: log, Outage: outage,
		Session: sessions.Resolve}, db.Reader(), engine))
	mux.HandleFunc("/auth/{tenant}/logout", sessions.ServeLogout)
	verifiers := jit.NewVerifiers(nil, nil) // one per provider, for the hook and the login
	rp := jit.NewRP(jit.RPConfig{BaseURL: baseURL, Verifiers: verifiers, Logger: log}, db.Reader(), engine, sessions)
	mux.HandleFunc("GET /auth/{tenant}/{connector}/login", rp.ServeLogin)
	mux.HandleFunc("GET /auth/{tenant}/{connector}/callback", rp.ServeCallback)
	mux.Handle("/admin/v1/", admin.NewHandler(admin.Config{MaxBodyBytes: maxBody, Logger: log, Outage: outage,
		Exporter: csvExporter{db.Reader(), engine}}, db.Reader(), engine))
	mux.Handle("/jit/{tenant}/{connector}", jit.NewHook(jit.HookConfig{Verifiers: verifiers, Logger: log}, db.Reader(), engine))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such endpoint: SCIM is under /scim/v2/{tenant}/, the admin API under /admin/v1/{tenant}/, sign-in under /auth/{tenant}/, the ID-token hook at /jit/{tenant}/{connector}", http.StatusNotFound)
	})
	return mux
}

func envOr(e env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}
