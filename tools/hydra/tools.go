//go:build tools

// Package hydra pins Ory Hydra, the OAuth2/OIDC provider the identity
// provider tests run, in a module of its own: its dependencies stay out of
// AgCom's go.mod. tests/oidc_test.go builds it once (with the tags for its
// in-memory database) into the user's cache directory:
//
//	go build -tags sqlite,sqlite_omit_load_extension github.com/ory/hydra/v2
package hydra

import _ "github.com/ory/hydra/v2"
