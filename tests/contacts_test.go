package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
)

// handlesOf lists the handles of contacts, in order.
func handlesOf(cs []agcomv1.Contact) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Handle
	}
	return out
}

// getContact reads an entry and fails the test on any status but 200.
func getContact(t *testing.T, c *agcomv1.ClientWithResponses, handle string) agcomv1.Contact {
	t.Helper()
	resp, err := c.GetContactWithResponse(context.Background(), handle)
	if err != nil {
		t.Fatalf("get contact %s: %v", handle, err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("get contact %s: status %d, body %s", handle, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

func TestContactCreate(t *testing.T) {
	e := newSEnv(t)
	alice := e.client("alice")
	ctx := context.Background()

	before := time.Now().Add(-time.Second)
	got := createContact(t, alice, agcomv1.ContactCreate{
		Handle: "bob", DisplayName: ptr("Bob Jones"), Description: ptr("Backend developer"),
		Tags: &[]string{"python", "backend", "python"},
	})
	if got.Handle != "bob" || str(got.DisplayName) != "Bob Jones" || str(got.Description) != "Backend developer" {
		t.Errorf("created = %+v, want bob / Bob Jones / Backend developer", got)
	}
	if !slices.Equal(got.Tags, []string{"python", "backend"}) {
		t.Errorf("tags = %v, want [python backend] (duplicates dropped, order kept)", got.Tags)
	}
	if got.Version != 1 {
		t.Errorf("version = %d, want 1", got.Version)
	}
	if !got.IsActive {
		t.Errorf("is_active = false, want true")
	}
	if got.UpdatedBy != "alice" {
		t.Errorf("updated_by = %q, want alice (the caller)", got.UpdatedBy)
	}
	if got.CreatedAt.Before(before) || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("created_at = %v, updated_at = %v; want now and equal", got.CreatedAt, got.UpdatedAt)
	}
	read := getContact(t, e.client("carol"), "bob")
	if !read.CreatedAt.Equal(got.CreatedAt) || read.Version != 1 || read.UpdatedBy != "alice" {
		t.Errorf("read back = %+v, want the created entry %+v", read, got)
	}

	// A minimal entry: optional fields are null, tags an empty list.
	min := createContact(t, alice, agcomv1.ContactCreate{Handle: "min"})
	if min.DisplayName != nil || min.Description != nil || min.Tags == nil || len(min.Tags) != 0 {
		t.Errorf("minimal entry = %+v, want null display_name and description, tags []", min)
	}

	createContact(t, alice, agcomv1.ContactCreate{Handle: "gone"})
	deactivateContact(t, alice, "gone")

	tests := []struct {
		name   string
		handle string
	}{
		{"create409 active", "bob"},
		{"create409 inactive", "gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.client("carol").CreateContactWithResponse(ctx, nil, agcomv1.ContactCreate{
				Handle: tt.handle, DisplayName: ptr("Impostor"),
			})
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "Conflict")
			after := getContact(t, alice, tt.handle)
			if str(after.DisplayName) == "Impostor" || after.UpdatedBy == "carol" {
				t.Errorf("a rejected create changed the entry: %+v", after)
			}
		})
	}
}

func TestContactGet(t *testing.T) {
	e := newSEnv(t)
	alice := e.client("alice")
	createContact(t, alice, agcomv1.ContactCreate{Handle: "bob", DisplayName: ptr("Bob")})
	createContact(t, alice, agcomv1.ContactCreate{Handle: "old", DisplayName: ptr("Old Timer")})
	deactivateContact(t, alice, "old")

	tests := []struct {
		name       string
		handle     string
		wantStatus int
		wantActive bool
		wantName   string
	}{
		{"get200 active", "bob", http.StatusOK, true, "Bob"},
		{"get200 inactive", "old", http.StatusOK, false, "Old Timer"},
		{"get404 unknown", "nobody", http.StatusNotFound, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.client("zed").GetContactWithResponse(context.Background(), tt.handle)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantStatus != http.StatusOK {
				wantError(t, resp.HTTPResponse, resp.Body, tt.wantStatus, "NotFound")
				return
			}
			if resp.JSON200 == nil {
				t.Fatalf("status = %d, want 200; body %s", resp.StatusCode(), resp.Body)
			}
			if got := resp.JSON200; got.Handle != tt.handle || got.IsActive != tt.wantActive || str(got.DisplayName) != tt.wantName {
				t.Errorf("got %s active=%t name=%q, want %s active=%t name=%q",
					got.Handle, got.IsActive, str(got.DisplayName), tt.handle, tt.wantActive, tt.wantName)
			}
		})
	}
}

func TestContactList(t *testing.T) {
	e := newSEnv(t)
	alice := e.client("alice")
	// Created out of order: the list must come back by handle.
	for _, c := range []struct {
		handle string
		tags   []string
	}{
		{"frank", []string{"ops"}},
		{"bob", []string{"python", "backend"}},
		{"erin", []string{"python"}},
		{"dave", nil},
		{"carol", []string{"go", "backend"}},
	} {
		body := agcomv1.ContactCreate{Handle: c.handle}
		if c.tags != nil {
			body.Tags = &c.tags
		}
		createContact(t, alice, body)
	}
	deactivateContact(t, alice, "erin")

	tests := []struct {
		name        string
		params      agcomv1.ListContactsParams
		wantHandles []string
		wantTotal   int
		wantMore    bool
	}{
		{"default active only", agcomv1.ListContactsParams{},
			[]string{"bob", "carol", "dave", "frank"}, 4, false},
		{"active_only=true", agcomv1.ListContactsParams{ActiveOnly: ptr(true)},
			[]string{"bob", "carol", "dave", "frank"}, 4, false},
		{"active_only=false includes inactive", agcomv1.ListContactsParams{ActiveOnly: ptr(false)},
			[]string{"bob", "carol", "dave", "erin", "frank"}, 5, false},
		{"tags match any", agcomv1.ListContactsParams{Tags: &[]string{"ops", "go"}},
			[]string{"carol", "frank"}, 2, false},
		{"tag shared by two", agcomv1.ListContactsParams{Tags: &[]string{"backend"}},
			[]string{"bob", "carol"}, 2, false},
		{"tags skip inactive by default", agcomv1.ListContactsParams{Tags: &[]string{"python"}},
			[]string{"bob"}, 1, false},
		{"tags with inactive", agcomv1.ListContactsParams{Tags: &[]string{"python"}, ActiveOnly: ptr(false)},
			[]string{"bob", "erin"}, 2, false},
		{"unknown tag", agcomv1.ListContactsParams{Tags: &[]string{"cobol"}},
			[]string{}, 0, false},
		{"first page", agcomv1.ListContactsParams{Limit: ptr(2)},
			[]string{"bob", "carol"}, 4, true},
		{"second page", agcomv1.ListContactsParams{Limit: ptr(2), Offset: ptr(2)},
			[]string{"dave", "frank"}, 4, false},
		{"partial last page", agcomv1.ListContactsParams{Limit: ptr(3), Offset: ptr(3)},
			[]string{"frank"}, 4, false},
		{"middle page with inactive", agcomv1.ListContactsParams{Limit: ptr(2), Offset: ptr(2), ActiveOnly: ptr(false)},
			[]string{"dave", "erin"}, 5, true},
		{"past the end", agcomv1.ListContactsParams{Offset: ptr(10)},
			[]string{}, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.params
			resp, err := e.client("bob").ListContactsWithResponse(context.Background(), &p)
			if err != nil {
				t.Fatal(err)
			}
			if resp.JSON200 == nil {
				t.Fatalf("status = %d, want 200; body %s", resp.StatusCode(), resp.Body)
			}
			got := resp.JSON200
			if h := handlesOf(got.Contacts); !slices.Equal(h, tt.wantHandles) {
				t.Errorf("handles = %v, want %v", h, tt.wantHandles)
			}
			pg := got.Pagination
			wantLimit, wantOffset := 50, 0
			if p.Limit != nil {
				wantLimit = *p.Limit
			}
			if p.Offset != nil {
				wantOffset = *p.Offset
			}
			if pg.Total != tt.wantTotal || pg.HasMore != tt.wantMore || pg.Limit != wantLimit || pg.Offset != wantOffset {
				t.Errorf("pagination = %+v, want total %d has_more %t limit %d offset %d",
					pg, tt.wantTotal, tt.wantMore, wantLimit, wantOffset)
			}
		})
	}
}

func TestContactUpdate(t *testing.T) {
	e := newSEnv(t)
	ctx := context.Background()
	alice, carol := e.client("alice"), e.client("carol")
	created := createContact(t, alice, agcomv1.ContactCreate{
		Handle: "bob", DisplayName: ptr("Roberto"), Description: ptr("Python developer"), Tags: &[]string{"python"},
	})

	// update200: the fields are replaced; display_name, omitted, becomes null.
	resp, err := carol.UpdateContactWithResponse(ctx, "bob", agcomv1.ContactUpdate{
		ExpectedVersion: 1, Description: ptr("Rust developer"), Tags: &[]string{"rust", "systems"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("update: status = %d, want 200; body %s", resp.StatusCode(), resp.Body)
	}
	up := *resp.JSON200
	checks := []struct {
		field     string
		got, want any
	}{
		{"version", up.Version, 2},
		{"display_name", str(up.DisplayName), "<null>"},
		{"description", str(up.Description), "Rust developer"},
		{"tags", fmt.Sprint(up.Tags), "[rust systems]"},
		{"is_active", up.IsActive, true},
		{"updated_by", up.UpdatedBy, "carol"},
		{"created_at kept", up.CreatedAt.Equal(created.CreatedAt), true},
		{"updated_at moved", !up.UpdatedAt.Before(created.UpdatedAt), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("after update, %s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if read := getContact(t, alice, "bob"); read.Version != 2 || read.DisplayName != nil || str(read.Description) != "Rust developer" ||
		!read.UpdatedAt.Equal(up.UpdatedAt) {
		t.Errorf("read back = %+v, want the updated entry %+v", read, up)
	}

	// The tag index and the search text follow the change.
	for _, c := range []struct {
		name string
		p    agcomv1.SearchContactsParams
		want []string
	}{
		{"old tag", agcomv1.SearchContactsParams{Tags: &[]string{"python"}}, []string{}},
		{"new tag", agcomv1.SearchContactsParams{Tags: &[]string{"systems"}}, []string{"bob"}},
		{"old description", agcomv1.SearchContactsParams{Query: ptr("python")}, []string{}},
		{"new description", agcomv1.SearchContactsParams{Query: ptr("rust")}, []string{"bob"}},
		{"old display name", agcomv1.SearchContactsParams{Query: ptr("roberto")}, []string{}},
	} {
		p := c.p
		r, err := alice.SearchContactsWithResponse(ctx, &p)
		if err != nil {
			t.Fatal(err)
		}
		if r.JSON200 == nil {
			t.Fatalf("search %s: status %d: %s", c.name, r.StatusCode(), r.Body)
		}
		if got := handlesOf(r.JSON200.Contacts); !slices.Equal(got, c.want) {
			t.Errorf("after update, search by %s = %v, want %v", c.name, got, c.want)
		}
	}

	tests := []struct {
		name       string
		handle     string
		body       string
		wantStatus int
		wantType   string
	}{
		{"update409 stale version", "bob", `{"expected_version": 1, "display_name": "Stale"}`, http.StatusConflict, "VersionConflict"},
		{"update409 future version", "bob", `{"expected_version": 7, "display_name": "Future"}`, http.StatusConflict, "VersionConflict"},
		{"update404 unknown", "nobody", `{"expected_version": 1, "display_name": "Nobody"}`, http.StatusNotFound, "NotFound"},
		{"update400 missing expected_version", "bob", `{"display_name": "No Version"}`, http.StatusBadRequest, "ValidationError"},
		{"update400 zero expected_version", "bob", `{"expected_version": 0, "display_name": "Zero"}`, http.StatusBadRequest, "ValidationError"},
		{"update400 server-owned field", "bob", `{"expected_version": 2, "version": 9}`, http.StatusBadRequest, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPut, "/api/v1/contacts/"+tt.handle, e.token("carol"), tt.body)
			wantError(t, resp, body, tt.wantStatus, tt.wantType)
			if tt.handle == "bob" {
				if got := getContact(t, alice, "bob"); got.Version != 2 || got.DisplayName != nil {
					t.Errorf("a rejected update changed the entry: version %d, display_name %s", got.Version, str(got.DisplayName))
				}
			}
		})
	}

	// PUT can deactivate and reactivate; each change adds 1.
	for i, active := range []bool{false, true} {
		wantVersion := 3 + i
		r, err := alice.UpdateContactWithResponse(ctx, "bob", agcomv1.ContactUpdate{
			ExpectedVersion: wantVersion - 1, DisplayName: ptr("Bob"), IsActive: ptr(active),
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.JSON200 == nil {
			t.Fatalf("update is_active=%t: status %d: %s", active, r.StatusCode(), r.Body)
		}
		if r.JSON200.IsActive != active || r.JSON200.Version != wantVersion {
			t.Errorf("update is_active=%t: got active %t version %d, want %t and %d",
				active, r.JSON200.IsActive, r.JSON200.Version, active, wantVersion)
		}
		l, err := alice.ListContactsWithResponse(ctx, &agcomv1.ListContactsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if l.JSON200 == nil {
			t.Fatalf("list: status %d: %s", l.StatusCode(), l.Body)
		}
		if listed := slices.Contains(handlesOf(l.JSON200.Contacts), "bob"); listed != active {
			t.Errorf("after is_active=%t, bob in the default list = %t", active, listed)
		}
	}
}

func TestContactDeactivate(t *testing.T) {
	e := newSEnv(t)
	ctx := context.Background()
	alice := e.client("alice")
	created := createContact(t, alice, agcomv1.ContactCreate{
		Handle: "bob", DisplayName: ptr("Bob"), Description: ptr("Backend"), Tags: &[]string{"go"},
	})

	resp, body := e.do(http.MethodDelete, "/api/v1/contacts/bob", e.token("carol"), "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: status %d, want 200; body %s", resp.StatusCode, body)
	}
	var deactivated map[string]any
	if err := json.Unmarshal(body, &deactivated); err != nil {
		t.Fatalf("DELETE body is not JSON: %v: %s", err, body)
	}
	if want := map[string]any{"handle": "bob", "is_active": false}; !maps.Equal(deactivated, want) {
		t.Errorf("DELETE body = %v, want %v", deactivated, want)
	}

	got := getContact(t, alice, "bob")
	checks := []struct {
		field     string
		got, want any
	}{
		{"is_active", got.IsActive, false},
		{"version", got.Version, 2},
		{"display_name kept", str(got.DisplayName), "Bob"},
		{"description kept", str(got.Description), "Backend"},
		{"tags kept", fmt.Sprint(got.Tags), "[go]"},
		{"updated_by", got.UpdatedBy, "carol"},
		{"created_at kept", got.CreatedAt.Equal(created.CreatedAt), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("after DELETE, %s = %v, want %v", c.field, c.got, c.want)
		}
	}

	// A deactivated entry still holds its tags for active_only=false.
	l, err := alice.ListContactsWithResponse(ctx, &agcomv1.ListContactsParams{Tags: &[]string{"go"}, ActiveOnly: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if l.JSON200 == nil || !slices.Equal(handlesOf(l.JSON200.Contacts), []string{"bob"}) {
		t.Errorf("list tags=go active_only=false: status %d body %s, want bob", l.StatusCode(), l.Body)
	}

	r2, err := alice.DeactivateContactWithResponse(ctx, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, r2.HTTPResponse, r2.Body, http.StatusNotFound, "NotFound")
}

func TestContactSearch(t *testing.T) {
	e := newSEnv(t)
	alice := e.client("alice")
	for _, c := range []agcomv1.ContactCreate{
		{Handle: "ecole", DisplayName: ptr("École Normale")},
		{Handle: "lycee", Description: ptr("ANCIENNE ÉCOLE DU VILLAGE")},
		{Handle: "pct", Description: ptr("100% uptime")},
		{Handle: "a_b", DisplayName: ptr("Underscore")},
		{Handle: "axb", DisplayName: ptr("Cross")},
		{Handle: "backend-bob", Description: ptr("Go developer"), Tags: &[]string{"backend"}},
		{Handle: "frontend-fay", Description: ptr("TypeScript Developer"), Tags: &[]string{"frontend"}},
		{Handle: "retired", Description: ptr("go developer, retired"), Tags: &[]string{"backend"}},
		{Handle: "ctrl", DisplayName: ptr("unit\x1fseparator")},
	} {
		createContact(t, alice, c)
	}
	deactivateContact(t, alice, "retired")

	tests := []struct {
		name      string
		params    agcomv1.SearchContactsParams
		want      []string
		wantTotal int
		wantMore  bool
	}{
		{"non-ASCII upper finds lower and upper", agcomv1.SearchContactsParams{Query: ptr("ÉCOLE")}, []string{"ecole", "lycee"}, 2, false},
		{"non-ASCII lower finds lower and upper", agcomv1.SearchContactsParams{Query: ptr("école")}, []string{"ecole", "lycee"}, 2, false},
		{"display name mixed case", agcomv1.SearchContactsParams{Query: ptr("nORMALE")}, []string{"ecole"}, 1, false},
		{"percent is literal", agcomv1.SearchContactsParams{Query: ptr("%")}, []string{"pct"}, 1, false},
		{"percent within text", agcomv1.SearchContactsParams{Query: ptr("100%")}, []string{"pct"}, 1, false},
		{"underscore is literal", agcomv1.SearchContactsParams{Query: ptr("a_b")}, []string{"a_b"}, 1, false},
		{"lone underscore", agcomv1.SearchContactsParams{Query: ptr("_")}, []string{"a_b"}, 1, false},
		{"handle substring", agcomv1.SearchContactsParams{Query: ptr("BOB")}, []string{"backend-bob"}, 1, false},
		{"description, active only by default", agcomv1.SearchContactsParams{Query: ptr("DEVELOPER")}, []string{"backend-bob", "frontend-fay"}, 2, false},
		{"description with inactive", agcomv1.SearchContactsParams{Query: ptr("developer"), ActiveOnly: ptr(false)}, []string{"backend-bob", "frontend-fay", "retired"}, 3, false},
		{"tags match any", agcomv1.SearchContactsParams{Tags: &[]string{"frontend", "backend"}}, []string{"backend-bob", "frontend-fay"}, 2, false},
		{"tags with inactive", agcomv1.SearchContactsParams{Tags: &[]string{"backend"}, ActiveOnly: ptr(false)}, []string{"backend-bob", "retired"}, 2, false},
		{"query and tags", agcomv1.SearchContactsParams{Query: ptr("developer"), Tags: &[]string{"frontend"}}, []string{"frontend-fay"}, 1, false},
		{"no match", agcomv1.SearchContactsParams{Query: ptr("cobol")}, []string{}, 0, false},
		// The store may join the fields for searching; a match never spans two of them.
		{"no match across handle and description", agcomv1.SearchContactsParams{Query: ptr("pct\x1f\x1f100")}, []string{}, 0, false},
		{"no match across handle and display name", agcomv1.SearchContactsParams{Query: ptr("axb\x1fcross")}, []string{}, 0, false},
		{"control character found only where it is", agcomv1.SearchContactsParams{Query: ptr("\x1f")}, []string{"ctrl"}, 1, false},
		{"control character inside a field", agcomv1.SearchContactsParams{Query: ptr("T\x1fS")}, []string{"ctrl"}, 1, false},
		{"paged", agcomv1.SearchContactsParams{Query: ptr("developer"), Limit: ptr(1)}, []string{"backend-bob"}, 2, true},
		{"paged second", agcomv1.SearchContactsParams{Query: ptr("developer"), Limit: ptr(1), Offset: ptr(1)}, []string{"frontend-fay"}, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.params
			resp, err := e.client("zed").SearchContactsWithResponse(context.Background(), &p)
			if err != nil {
				t.Fatal(err)
			}
			if resp.JSON200 == nil {
				t.Fatalf("status = %d, want 200; body %s", resp.StatusCode(), resp.Body)
			}
			if got := handlesOf(resp.JSON200.Contacts); !slices.Equal(got, tt.want) {
				t.Errorf("handles = %v, want %v", got, tt.want)
			}
			if pg := resp.JSON200.Pagination; pg.Total != tt.wantTotal || pg.HasMore != tt.wantMore {
				t.Errorf("pagination = %+v, want total %d has_more %t", pg, tt.wantTotal, tt.wantMore)
			}
		})
	}
}

func TestContactConcurrentUpdates(t *testing.T) {
	e := newSEnv(t)
	ctx := context.Background()
	createContact(t, e.client("alice"), agcomv1.ContactCreate{Handle: "bob", DisplayName: ptr("Bob")})

	const writers = 10
	clients := make([]*agcomv1.ClientWithResponses, writers)
	for i := range clients {
		clients[i] = e.client(fmt.Sprintf("writer%d", i))
	}
	type result struct {
		status  int
		errType string
		name    string
		err     error
	}
	results := make([]result, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			name := fmt.Sprintf("Writer %d", i)
			resp, err := clients[i].UpdateContactWithResponse(ctx, "bob", agcomv1.ContactUpdate{
				ExpectedVersion: 1, DisplayName: &name,
			})
			if err != nil {
				results[i] = result{err: err}
				return
			}
			r := result{status: resp.StatusCode(), name: name}
			if resp.JSON409 != nil {
				r.errType = string(resp.JSON409.Error.Type)
			}
			results[i] = r
		}()
	}
	close(start)
	wg.Wait()

	var ok, conflicts int
	winner := ""
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("writer %d: %v", i, r.err)
		case r.status == http.StatusOK:
			ok++
			winner = r.name
		case r.status == http.StatusConflict && r.errType == "VersionConflict":
			conflicts++
		default:
			t.Errorf("writer %d: status %d type %q, want 200 or 409 VersionConflict", i, r.status, r.errType)
		}
	}
	if ok != 1 || conflicts != writers-1 {
		t.Errorf("got %d × 200 and %d × 409 VersionConflict, want 1 and %d", ok, conflicts, writers-1)
	}
	got := getContact(t, e.client("alice"), "bob")
	if got.Version != 2 || str(got.DisplayName) != winner {
		t.Errorf("after the race: version %d, display_name %s; want 2 and the winner's %q", got.Version, str(got.DisplayName), winner)
	}
}
