package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

func init() {
	userSubcommands = append(userSubcommands, subcommand{"resend-activation",
		"send a user pending activation a new link (the old ones stop working); serve's worker delivers it", userResendActivation})
}

func userResendActivation(ctx context.Context, e env, args []string) error {
	var publicURL *string
	db, by, id, err := oneUser(ctx, e, "resend-activation", "user resend-activation --tenant T --user ID [--public-url URL] [--database-url URL]", args,
		func(fs *flag.FlagSet) { publicURL = publicURLFlag(fs, e) })
	if err != nil {
		return err
	}
	defer db.Close()
	eng := reconcile.New(db, nil)
	eng.SetMail(reconcile.MailConfig{PublicURL: *publicURL})
	u, err := eng.ResendActivation(ctx, by, *id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %s in tenant %q", *id, by.TenantName)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Queued a new activation link for user %s (%s); the links sent before no longer work.\n", u.ID, u.UserName)
	return nil
}

// publicURLFlag is --public-url, the base of the links in messages.
func publicURLFlag(fs *flag.FlagSet, e env) *string {
	return fs.String("public-url", e.getenv("SCIMD_PUBLIC_URL"),
		"the URL people reach scimd at, the base of activation links, e.g. https://id.example.com (env SCIMD_PUBLIC_URL)")
}
