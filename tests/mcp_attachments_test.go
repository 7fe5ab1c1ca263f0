package tests

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/config"
	agmcp "github.com/agcom/agcom/internal/mcp"
)

// mcpDownload is get_attachment's answer: its metadata, and the bytes of
// its embedded resource.
type mcpDownload struct {
	info struct {
		AttachmentID string `json:"attachment_id"`
		Filename     string `json:"filename"`
		ContentType  string `json:"content_type"`
		Size         int64  `json:"size"`
		SHA256       string `json:"sha256"`
	}
	resource *mcp.ResourceContents
	// asText says the bytes came as text, not as a base64 blob.
	asText bool
	bytes  []byte
}

// getAttachment calls get_attachment, which must succeed.
func (c *mcpClient) getAttachment(id string) mcpDownload {
	c.t.Helper()
	res := c.call("get_attachment", map[string]any{"attachment_id": id})
	if res.IsError {
		c.t.Fatalf("get_attachment %s: tool error: %s", id, resultText(res))
	}
	var d mcpDownload
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &d.info); err != nil {
		c.t.Fatalf("get_attachment: structured content %s: %v", b, err)
	}
	var fromText, fromStructured any
	json.Unmarshal([]byte(resultText(res)), &fromText)
	json.Unmarshal(b, &fromStructured)
	if text := resultText(res); fromText == nil || asJSON(fromText) != asJSON(fromStructured) {
		c.t.Errorf("get_attachment: text %s differs from structured content %s", text, b)
	}
	for _, content := range res.Content {
		if r, ok := content.(*mcp.EmbeddedResource); ok {
			d.resource = r.Resource
		}
	}
	if d.resource == nil {
		c.t.Fatalf("get_attachment %s: no embedded resource in %s", id, asJSON(res.Content))
	}
	d.asText = d.resource.Blob == nil
	d.bytes = d.resource.Blob
	if d.asText {
		d.bytes = []byte(d.resource.Text)
	}
	return d
}

// Alice uploads a text and a binary file over MCP and sends them to Bob;
// Bob downloads both with get_attachment, byte for byte, and Carol, who
// cannot see the message, gets the REST API's 404.
func TestMCPAttachments(t *testing.T) {
	e := newMsgEnv(t)
	alice, bob, carol := e.mcpAs(t, "alice"), e.mcpAs(t, "bob"), e.mcpAs(t, "carol")

	for _, c := range []*mcpClient{alice, carol} {
		tools := c.tools()
		for _, name := range []string{"upload_attachment", "get_attachment"} {
			if tools[name] == nil {
				t.Fatalf("tool %s is not listed to an agent", name)
			}
		}
		var up struct {
			Required   []string                  `json:"required"`
			Properties map[string]map[string]any `json:"properties"`
		}
		b, _ := json.Marshal(tools["upload_attachment"].InputSchema)
		json.Unmarshal(b, &up)
		if asJSON(up.Required) != `["filename"]` || up.Properties["filename"]["maxLength"] != float64(agcom.MaxFilenameLen) ||
			up.Properties["text"] == nil || up.Properties["content_base64"] == nil || up.Properties["content_type"] == nil {
			t.Errorf("upload_attachment's input schema %s", b)
		}
		if !strings.Contains(tools["get_attachment"].Description, "Download an attachment's bytes") {
			t.Errorf("get_attachment's description lacks the operation's summary: %q", tools["get_attachment"].Description)
		}
	}

	text := "Quarterly numbers: ünïcödé ✓\n"
	var note agcomv1.Attachment
	alice.ok("upload_attachment", map[string]any{"filename": "notes/q3.txt", "text": text}, &note)
	if note.Filename != "q3.txt" || note.ContentType != "text/plain; charset=utf-8" || note.Size != int64(len(text)) || note.Sha256 != sha256Hex([]byte(text)) {
		t.Errorf("text upload stored as %+v", note)
	}
	binary := make([]byte, 3000)
	for i := range binary {
		binary[i] = byte(rand.IntN(256))
	}
	binary[0] = 0xff // never valid UTF-8
	var img agcomv1.Attachment
	alice.ok("upload_attachment", map[string]any{
		"filename": "plot.png", "content_type": "image/png", "content_base64": base64.StdEncoding.EncodeToString(binary),
	}, &img)
	if img.ContentType != "image/png" || img.Size != int64(len(binary)) || img.Sha256 != sha256Hex(binary) {
		t.Errorf("binary upload stored as %+v", img)
	}
	var data agcomv1.Attachment
	alice.ok("upload_attachment", map[string]any{
		"filename": "data.json", "content_type": "application/json", "content_base64": base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)),
	}, &data)
	var empty agcomv1.Attachment
	alice.ok("upload_attachment", map[string]any{"filename": "empty.bin", "content_base64": ""}, &empty)

	// Not yet attached: Bob cannot see them, exactly as over REST.
	bob.fails("get_attachment", map[string]any{"attachment_id": note.AttachmentId}, "NotFound")

	var sent agcomv1.Message
	alice.ok("send_message", map[string]any{
		"to_handles": []string{"bob"}, "subject": "Files", "body": "see attached",
		"attachment_ids": []string{note.AttachmentId, img.AttachmentId, data.AttachmentId, empty.AttachmentId},
	}, &sent)
	if sent.Attachments == nil || len(*sent.Attachments) != 4 {
		t.Fatalf("send_message carried %v, want 4 attachments", sent.Attachments)
	}

	for _, tc := range []struct {
		a      agcomv1.Attachment
		want   []byte
		asText bool
	}{
		{note, []byte(text), true},
		{img, binary, false},
		{data, []byte(`{"a":1}`), true},
		{empty, nil, false},
	} {
		got := bob.getAttachment(tc.a.AttachmentId)
		if string(got.bytes) != string(tc.want) || sha256Hex(got.bytes) != tc.a.Sha256 {
			t.Errorf("%s: bob got %d bytes (sha256 %s), want %d (%s)", tc.a.Filename, len(got.bytes), sha256Hex(got.bytes), len(tc.want), tc.a.Sha256)
		}
		if got.asText != tc.asText {
			t.Errorf("%s: sent as text = %v, want %v", tc.a.Filename, got.asText, tc.asText)
		}
		if got.info.AttachmentID != tc.a.AttachmentId || got.info.Filename != tc.a.Filename || got.info.ContentType != tc.a.ContentType ||
			got.info.Size != tc.a.Size || got.info.SHA256 != tc.a.Sha256 {
			t.Errorf("%s: metadata %+v, want %+v", tc.a.Filename, got.info, tc.a)
		}
		if got.resource.URI != "agcom://attachments/"+tc.a.AttachmentId || got.resource.MIMEType != tc.a.ContentType {
			t.Errorf("%s: resource %s (%s)", tc.a.Filename, got.resource.URI, got.resource.MIMEType)
		}
	}

	// Carol sees nothing of it: the same 404 as REST gives her.
	env := carol.fails("get_attachment", map[string]any{"attachment_id": img.AttachmentId}, "NotFound")
	rest := e.download("carol", img.AttachmentId, nil)
	if rest.JSON404 == nil || rest.JSON404.Error.Message != env.Message {
		t.Errorf("carol: MCP says %q, REST answers %d %s", env.Message, rest.StatusCode(), rest.Body)
	}
	carol.fails("get_attachment", map[string]any{"attachment_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "NotFound")
}

// Arguments that make no upload are ValidationErrors, naming the argument.
func TestMCPAttachmentUploadArguments(t *testing.T) {
	e := newMsgEnv(t)
	alice := e.mcpAs(t, "alice")
	for _, tc := range []struct {
		name  string
		args  map[string]any
		field string
	}{
		{"badBase64", map[string]any{"filename": "a", "content_base64": "not base64!"}, "content_base64"},
		{"unpaddedBase64", map[string]any{"filename": "a", "content_base64": "YWJj ZA"}, "content_base64"},
		{"both", map[string]any{"filename": "a", "text": "x", "content_base64": "eA=="}, "text"},
		{"neither", map[string]any{"filename": "a"}, "text"},
		{"noFilename", map[string]any{"text": "x"}, "filename"},
		{"textNotString", map[string]any{"filename": "a", "text": 7}, "text"},
		{"unknown", map[string]any{"filename": "a", "text": "x", "file": "y"}, "file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := alice.fails("upload_attachment", tc.args, "ValidationError")
			if got.Details["field"] != tc.field {
				t.Errorf("details %v, want field %s", got.Details, tc.field)
			}
		})
	}
	var files agcomv1.Attachment
	alice.ok("upload_attachment", map[string]any{"filename": "ok.txt", "text": "fine"}, &files)
}

// get_attachment carries at most MAX_MCP_ATTACHMENT_BYTES; a larger file
// is PayloadTooLarge naming the limit. An upload over the API's own limit
// is the API's 413.
func TestMCPAttachmentLimits(t *testing.T) {
	e := newMsgEnv(t, func(c *config.Config) {
		c.MCPAttachmentBytes = 100
		c.MaxAttachmentBytes = 1000
	})
	alice := e.mcpAs(t, "alice")
	upload := func(n int) agcomv1.Attachment {
		t.Helper()
		var a agcomv1.Attachment
		alice.ok("upload_attachment", map[string]any{"filename": "f", "text": strings.Repeat("x", n)}, &a)
		return a
	}
	if got := alice.getAttachment(upload(100).AttachmentId); len(got.bytes) != 100 {
		t.Errorf("a file of exactly the cap: %d bytes", len(got.bytes))
	}
	big := upload(101)
	got := alice.fails("get_attachment", map[string]any{"attachment_id": big.AttachmentId}, "PayloadTooLarge")
	if got.Details["limit"] != agmcp.LimitAttachmentBytes || got.Details["max_bytes"] != float64(100) || got.Details["size"] != float64(101) {
		t.Errorf("over the cap: details %v", got.Details)
	}
	if !strings.Contains(got.Message, "/api/v1/attachments/"+big.AttachmentId) {
		t.Errorf("over the cap: message %q does not say where to download it", got.Message)
	}
	// The REST API still serves it whole.
	if rest := e.download("alice", big.AttachmentId, nil); rest.StatusCode() != http.StatusOK || len(rest.Body) != 101 {
		t.Errorf("REST download: %d, %d bytes", rest.StatusCode(), len(rest.Body))
	}

	got = alice.fails("upload_attachment", map[string]any{"filename": "huge", "text": strings.Repeat("y", 1001)}, "PayloadTooLarge")
	if got.Details["limit"] != agcom.LimitAttachmentBytes || got.Details["max_bytes"] != float64(1000) {
		t.Errorf("upload over MAX_ATTACHMENT_BYTES: details %v", got.Details)
	}
}

// An upload larger than a request to /mcp may be fails that call alone,
// saying which limit it passed and where a larger file goes; the session
// goes on.
func TestMCPAttachmentOverRequestLimit(t *testing.T) {
	e := newMsgEnv(t, func(c *config.Config) { c.MaxBodyBytes = 4096 })
	alice := e.mcpAs(t, "alice")
	_, err := alice.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "upload_attachment", Arguments: map[string]any{
		"filename": "big.bin", "content_base64": base64.StdEncoding.EncodeToString(make([]byte, 4000)),
	}})
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 4096 bytes (MAX_REQUEST_BODY_BYTES)") ||
		!strings.Contains(err.Error(), "POST /api/v1/attachments") {
		t.Fatalf("an upload over the request limit: %v", err)
	}
	var a agcomv1.Attachment
	alice.ok("upload_attachment", map[string]any{
		"filename": "small.bin", "content_base64": base64.StdEncoding.EncodeToString(make([]byte, 2000)),
	}, &a)
	if a.Size != 2000 {
		t.Errorf("after the refused upload: stored %+v", a)
	}
}
