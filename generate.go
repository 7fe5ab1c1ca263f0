// Package contract holds AgCom's API contract, openapi.yaml, as written,
// and generates gen/ from it. The server lives in cmd/agcomd.
package contract

import _ "embed"

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen --config oapi-codegen.yaml openapi.yaml

// OpenAPIYAML is openapi.yaml, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
