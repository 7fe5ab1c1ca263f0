package agcom_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	contract "github.com/agcom/agcom"
	"github.com/agcom/agcom/internal/agcom"
)

// theContract is openapi.yaml as written, loaded and checked once.
var theContract = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(contract.OpenAPIYAML)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

func loadContract(tb testing.TB) *openapi3.T {
	tb.Helper()
	doc, err := theContract()
	if err != nil {
		tb.Fatalf("openapi.yaml: %v", err)
	}
	return doc
}

// contractSchema returns the schema the contract's components name.
func contractSchema(tb testing.TB, name string) *openapi3.Schema {
	tb.Helper()
	ref := loadContract(tb).Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		tb.Fatalf("openapi.yaml has no schema %s", name)
	}
	return ref.Value
}

// contractProperty returns a property of a schema of the contract.
func contractProperty(tb testing.TB, schema, property string) *openapi3.Schema {
	tb.Helper()
	ref := contractSchema(tb, schema).Properties[property]
	if ref == nil || ref.Value == nil {
		tb.Fatalf("openapi.yaml: schema %s has no property %s", schema, property)
	}
	return ref.Value
}

// contractParameter returns the schema of a parameter of an operation (its
// own or its path's), or of the components' parameter name when
// operationID is "".
func contractParameter(tb testing.TB, operationID, name string) *openapi3.Schema {
	tb.Helper()
	doc := loadContract(tb)
	if operationID == "" {
		p := doc.Components.Parameters[name]
		if p == nil || p.Value == nil || p.Value.Schema == nil {
			tb.Fatalf("openapi.yaml has no parameter %s", name)
		}
		return p.Value.Schema.Value
	}
	var params openapi3.Parameters
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == operationID {
				params = append(append(params, item.Parameters...), op.Parameters...)
			}
		}
	}
	for _, p := range params {
		if p != nil && p.Value != nil && p.Value.Name == name && p.Value.Schema != nil {
			return p.Value.Schema.Value
		}
	}
	tb.Fatalf("openapi.yaml: %q has no parameter %s", operationID, name)
	return nil
}

// contractAccepts reports whether the contract's schema accepts the string
// s, as the request validator decides it.
func contractAccepts(tb testing.TB, schema, s string) bool {
	tb.Helper()
	return contractSchema(tb, schema).VisitJSON(s) == nil
}

// bound reads a schema's optional bound as an int; -1 when it has none.
func bound[T uint64 | float64](p *T) int {
	if p == nil {
		return -1
	}
	return int(*p)
}

// defaultInt reads a schema's default as an int; -1 when it has none.
func defaultInt(s *openapi3.Schema) int {
	if n, ok := s.Default.(float64); ok {
		return int(n)
	}
	return -1
}

// TestLimitsAreTheContracts: every limit the domain checks is the bound
// openapi.yaml gives the same field, so that a caller that does not come
// through the API meets the same rules as one that does.
func TestLimitsAreTheContracts(t *testing.T) {
	sendTo := contractProperty(t, "SendMessageRequest", "to_handles")
	limit := contractParameter(t, "", "Limit")
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"MaxRecipients: SendMessageRequest.to_handles maxItems", agcom.MaxRecipients, bound(sendTo.MaxItems)},
		{"at least one recipient: SendMessageRequest.to_handles minItems", 1, int(sendTo.MinItems)},
		{"MaxTags: Tags maxItems", agcom.MaxTags, bound(contractSchema(t, "Tags").MaxItems)},
		{"MaxTags: parameter TagsFilter maxItems", agcom.MaxTags, bound(contractParameter(t, "", "TagsFilter").MaxItems)},
		{"MaxTagLen: Tag maxLength", agcom.MaxTagLen, bound(contractSchema(t, "Tag").MaxLength)},
		{"MinHandleLen: Handle minLength", agcom.MinHandleLen, int(contractSchema(t, "Handle").MinLength)},
		{"MaxHandleLen: Handle maxLength", agcom.MaxHandleLen, bound(contractSchema(t, "Handle").MaxLength)},
		{"MaxSubjectLen: Subject maxLength", agcom.MaxSubjectLen, bound(contractSchema(t, "Subject").MaxLength)},
		{"MaxBodyLen: Body maxLength", agcom.MaxBodyLen, bound(contractSchema(t, "Body").MaxLength)},
		{"MaxDisplayNameLen: DisplayName maxLength", agcom.MaxDisplayNameLen, bound(contractSchema(t, "DisplayName").MaxLength)},
		{"MaxDescriptionLen: Description maxLength", agcom.MaxDescriptionLen, bound(contractSchema(t, "Description").MaxLength)},
		{"MaxMetadataKeyLen: MetadataKey maxLength", agcom.MaxMetadataKeyLen, bound(contractSchema(t, "MetadataKey").MaxLength)},
		{"MaxMetadataValLen: MetadataValue maxLength", agcom.MaxMetadataValLen, bound(contractSchema(t, "MetadataValue").MaxLength)},
		{"MaxMetadataValLen: MetadataUpdate.value maxLength", agcom.MaxMetadataValLen, bound(contractProperty(t, "MetadataUpdate", "value").MaxLength)},
		{"MaxQueryLen: searchMessages query maxLength", agcom.MaxQueryLen, bound(contractParameter(t, "searchMessages", "query").MaxLength)},
		{"a query is not empty: searchMessages query minLength", 1, int(contractParameter(t, "searchMessages", "query").MinLength)},
		{"MaxQueryLen: searchContacts query maxLength", agcom.MaxQueryLen, bound(contractParameter(t, "searchContacts", "query").MaxLength)},
		{"MaxAttachments: AttachmentIDs maxItems", agcom.MaxAttachments, bound(contractSchema(t, "AttachmentIDs").MaxItems)},
		{"MaxFilenameLen: Attachment.filename maxLength", agcom.MaxFilenameLen, bound(contractProperty(t, "Attachment", "filename").MaxLength)},
		{"MaxContentTypeLen: Attachment.content_type maxLength", agcom.MaxContentTypeLen, bound(contractProperty(t, "Attachment", "content_type").MaxLength)},
		{"DefaultLimit: parameter Limit default", agcom.DefaultLimit, defaultInt(limit)},
		{"MaxLimit: parameter Limit maximum", agcom.MaxLimit, bound(limit.Max)},
		{"a page holds one item or more: parameter Limit minimum", 1, bound(limit.Min)},
	} {
		if c.got != c.want {
			t.Errorf("%s: Go has %d, openapi.yaml %d", c.what, c.got, c.want)
		}
	}
}

// TestEveryPageIsTheContractsPage: every list's limit and offset are the
// components' Limit and Offset, whose bounds are the domain's. The event
// log's limit is the one exception; internal/httpapi checks it.
func TestEveryPageIsTheContractsPage(t *testing.T) {
	doc := loadContract(t)
	pages := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "listEvents" {
				continue
			}
			for _, p := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
				want := map[string]string{"limit": "Limit", "offset": "Offset"}[p.Value.Name]
				if want == "" || p.Value.In != openapi3.ParameterInQuery {
					continue
				}
				pages++
				if p.Ref != "#/components/parameters/"+want {
					t.Errorf("%s %s: parameter %s is %q, not #/components/parameters/%s", method, path, p.Value.Name, p.Ref, want)
				}
			}
		}
	}
	if pages < 10 {
		t.Fatalf("%d paging parameters: the contract was not read", pages)
	}
}

// lengths returns strings of ASCII letters of the lengths around a
// schema's bounds, to seed a fuzz test with its edges.
func lengths(s *openapi3.Schema, char string) []string {
	var out []string
	for _, n := range []int{int(s.MinLength) - 1, int(s.MinLength), bound(s.MaxLength), bound(s.MaxLength) + 1} {
		if n >= 0 {
			out = append(out, strings.Repeat(char, n))
		}
	}
	return out
}

// FuzzCheckMetadata: a metadata key and value (as JSON delivers
// them, valid UTF-8) are accepted exactly when the contract's MetadataKey
// and MetadataValue accept them.
func FuzzCheckMetadata(f *testing.F) {
	keys, values := lengths(contractSchema(f, "MetadataKey"), "k"), lengths(contractSchema(f, "MetadataValue"), "é")
	for i := range max(len(keys), len(values)) {
		f.Add(keys[min(i, len(keys)-1)], values[min(i, len(values)-1)])
	}
	f.Add("priority", "")
	f.Add("é", "\u00a0")
	f.Fuzz(func(t *testing.T, key, value string) {
		if !utf8.ValidString(key) || !utf8.ValidString(value) {
			return
		}
		want := contractAccepts(t, "MetadataKey", key) && contractAccepts(t, "MetadataValue", value)
		if err := agcom.CheckMetadata(key, &value); (err == nil) != want {
			t.Fatalf("CheckMetadata(%q, %q) = %v, the contract accepts them: %t", key, value, err, want)
		}
	})
}

// TestMessageSearchLimit: a search without a limit gets the default one;
// one out of the contract's bounds is refused, never quietly changed.
func TestMessageSearchLimit(t *testing.T) {
	for _, c := range []struct {
		limit, want int
		ok          bool
	}{
		{0, agcom.DefaultLimit, true},
		{1, 1, true},
		{agcom.MaxLimit, agcom.MaxLimit, true},
		{agcom.MaxLimit + 1, 0, false},
		{-1, 0, false},
	} {
		q := agcom.MessageSearch{Query: "q", InSubject: true, Limit: c.limit}
		err := q.Validate()
		switch {
		case c.ok && err != nil:
			t.Errorf("limit %d: %v", c.limit, err)
		case c.ok && q.Limit != c.want:
			t.Errorf("limit %d: became %d, want %d", c.limit, q.Limit, c.want)
		case !c.ok && err == nil:
			t.Errorf("limit %d: accepted as %d, want a ValidationError", c.limit, q.Limit)
		case !c.ok:
			wantValidationError(t, fmt.Sprintf("limit %d", c.limit), err)
		}
	}
}

// TestAttachmentDefaultsAreTheContracts: the settings' defaults the
// upload's description documents are the domain's.
func TestAttachmentDefaultsAreTheContracts(t *testing.T) {
	var upload *openapi3.Operation
	for _, item := range loadContract(t).Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == "uploadAttachment" {
				upload = op
			}
		}
	}
	if upload == nil {
		t.Fatal("openapi.yaml has no uploadAttachment")
	}
	for _, want := range []string{
		fmt.Sprintf("`MAX_ATTACHMENT_BYTES` (default 25 MiB, %d bytes)", agcom.DefaultAttachmentBytes),
		fmt.Sprintf("`ATTACHMENT_QUOTA_BYTES` (default %d GiB)", agcom.DefaultAttachmentQuotaBytes>>30),
		fmt.Sprintf("`ATTACHMENT_UNATTACHED_TTL` (default %d hours)", int(agcom.DefaultUnattachedTTL.Hours())),
	} {
		if !strings.Contains(strings.Join(strings.Fields(upload.Description), " "), want) {
			t.Errorf("uploadAttachment's description does not say %q", want)
		}
	}
	if want := fmt.Sprintf("at most %d;", agcom.MaxAttachments); !strings.Contains(strings.Join(strings.Fields(contractSchema(t, "AttachmentIDs").Description), " "), want) {
		t.Errorf("AttachmentIDs' description does not say %q", want)
	}
}
