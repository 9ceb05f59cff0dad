package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// Adding people by hand (003 and 000 seeds), tenant-wide administrators
// only: an org unit's administrator would otherwise reach users outside
// the unit by their addresses.
//
//	POST /admin/v1/{tenant}/users/add  {"emails": [...] or "text": "one\nper\nline", "roles": [...], "groups": [...], "notify": true, "dryRun": false}
//	POST /admin/v1/{tenant}/guests     {"email", "givenName", "familyName", "group", "accessStart", "accessEnd", "notify"}
func (a *api) addRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/v1/{tenant}/users/add", a.auth(tenantWide(a.addUsers)))
	mux.HandleFunc("POST /admin/v1/{tenant}/guests", a.auth(tenantWide(a.inviteGuest)))
}

// addDoc is what an add did, or would do (dryRun), with every line that
// stops it: nothing is written unless every line is good.
type addDoc struct {
	Committed   bool                    `json:"committed"`
	Added       int                     `json:"added"`
	Updated     int                     `json:"updated"`
	Unchanged   int                     `json:"unchanged"`
	RolesAdded  int                     `json:"rolesAdded"`
	GroupsAdded int                     `json:"groupsAdded"`
	Created     []reconcile.CreatedUser `json:"created,omitempty"`
	Errors      []lineError             `json:"errors,omitempty"`
	ErrorCount  int                     `json:"errorCount,omitempty"`
}

type lineError struct {
	Line   int    `json:"line"`
	Detail string `json:"detail"`
}

func (a *api) addUsers(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	var body struct {
		Emails        []string
		Text          string
		Roles, Groups []string
		Notify        bool
		DryRun        bool
	}
	if err := a.readJSON(w, r, &body, `{"emails": ["name@example.com", ...], "roles": [...], "groups": [...], "notify": true}`); err != nil {
		return err
	}
	if body.Text != "" {
		if len(body.Emails) > 0 {
			return &Error{http.StatusBadRequest, `give the addresses as "emails" or as "text", not both`}
		}
		body.Emails = strings.Split(body.Text, "\n")
	}
	res, err := a.engine.AddUsers(r.Context(), p, reconcile.AddUsers{Emails: body.Emails, Roles: body.Roles, Groups: body.Groups,
		Notify: body.Notify, DryRun: body.DryRun})
	if err != nil {
		return err
	}
	doc := addDoc{Committed: res.Committed, Added: res.Added, Updated: res.Updated, Unchanged: res.Unchanged,
		RolesAdded: res.RolesAdded, GroupsAdded: res.GroupsAdded, Created: res.Created, ErrorCount: res.ErrorCount}
	for _, e := range res.Errors {
		doc.Errors = append(doc.Errors, lineError{e.Line, e.Error()})
	}
	status := http.StatusOK
	if res.ErrorCount > 0 {
		status = http.StatusBadRequest
	}
	return writeStatus(w, status, doc)
}

func (a *api) inviteGuest(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	var body struct {
		Email, GivenName, FamilyName, Group string
		AccessStart, AccessEnd              time.Time
		Notify                              bool
	}
	if err := a.readJSON(w, r, &body, `{"email": "name@example.com", "group": "...", "accessStart": "2027-01-01T00:00:00Z", "accessEnd": "..."}`); err != nil {
		return err
	}
	u, err := a.engine.InviteGuest(r.Context(), p, reconcile.Guest{Email: body.Email, GivenName: body.GivenName,
		FamilyName: body.FamilyName, Group: body.Group, AccessStart: body.AccessStart, AccessEnd: body.AccessEnd, Notify: body.Notify})
	if err != nil {
		return err
	}
	r.SetPathValue("id", u.ID)
	return a.user(w, r, p)
}
