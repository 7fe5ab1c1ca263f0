//go:build tools

// Package versitygw pins the Versity S3 gateway, the S3-compatible server
// the object-store tests run (with its posix backend in a temporary
// directory), in a module of its own: its dependencies stay out of
// AgCom's go.mod. tests/attachments_s3_test.go builds it once into the
// user's cache directory:
//
//	go build github.com/versity/versitygw/cmd/versitygw
package versitygw

import _ "github.com/versity/versitygw/cmd/versitygw"
