package csvio

import (
	"encoding/csv"
	"io"
)

// sampleValues are a sample file's example row, by field. The cells that
// name what must exist first (a manager, a group, an org unit) and the
// password hash are left empty, so that the sample loads as it is.
var sampleValues = map[string]string{
	"userName": "jsmith", "externalId": "E-1001", "firstName": "John", "lastName": "Smith",
	"prefix": "Dr.", "email": "jsmith@example.com", "altEmail": "john.smith@example.org",
	"enabled": "true", "status": "active", "roles": "Approver|Reviewer",
	"accessStart": "2026-09-01", "accessFinish": "2027-06-30 17:00", "entryYear": "2026", "gradYear": "2030",
	"phone": "+1 555 0100", "fax": "+1 555 0101", "address": "1 Main Street", "city": "Springfield",
	"province": "IL", "postalCode": "62701", "country": "US", "gender": "M",
	"institutionNumber": "S-42", "notes": "example row: replace it", "taskNotification": "Email",
	"notifyIfNewUser": "false",
}

// Sample writes a file with every column of layout: its header line and
// one example row, for an admin to fill in. The tenant column, which must
// name the tenant the file is loaded into, holds tenant.
func Sample(w io.Writer, layout *Layout, tenant string) error {
	cw := csv.NewWriter(w)
	cw.Write(layout.Headers())
	row := make([]string, len(layout.fields))
	for i, f := range layout.fields {
		row[i] = sampleValues[f]
		if f == "tenant" {
			row[i] = tenant
		}
	}
	cw.Write(row)
	cw.Flush()
	return cw.Error()
}
