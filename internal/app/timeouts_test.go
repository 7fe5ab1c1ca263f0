package app

import (
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	contract "github.com/agcom/agcom"
)

// TestWriteTimeoutOutlastsLongPolls: the server gives an answer more time
// than the longest wait the contract lets a long-poll ask for, or the
// answer to GET /events?wait=max would be cut off.
func TestWriteTimeoutOutlastsLongPolls(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(contract.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	item := doc.Paths.Find("/events")
	if item == nil || item.Get == nil {
		t.Fatal("openapi.yaml has no GET /events")
	}
	wait := item.Get.Parameters.GetByInAndName(openapi3.ParameterInQuery, "wait")
	if wait == nil || wait.Schema.Value.Max == nil {
		t.Fatal("openapi.yaml: GET /events has no wait with a maximum")
	}
	longest := time.Duration(*wait.Schema.Value.Max) * time.Second
	if writeTimeout <= longest {
		t.Errorf("writeTimeout is %v, but a long-poll may wait %v", writeTimeout, longest)
	}
}
