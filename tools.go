//go:build tools

// Package tools pins the versions of the tools that the Makefile runs in
// go.mod: the code generator, govulncheck and the vulnerability data that
// cmd/agcom-vulndb turns into govulncheck's database.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "golang.org/x/vuln/cmd/govulncheck"
	// Only to keep golang.org/x/vulndb in go.mod: the module holds the data
	// (data/osv), and this package imports nothing, so the module's own
	// dependencies stay out of the build.
	_ "golang.org/x/vulndb/cmd/vulnreport/color"
)
