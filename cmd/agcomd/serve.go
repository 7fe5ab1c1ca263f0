package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/store/sqlite"
)

func serve(ctx context.Context, getenv config.Getenv, logOut io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, version, logOut)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}

// dbPath is DB_PATH or its default; the operator commands need nothing else.
func dbPath(getenv config.Getenv) string {
	if v, ok := getenv("DB_PATH"); ok && v != "" {
		return v
	}
	return config.DefaultDBPath
}

func migrate(ctx context.Context, getenv config.Getenv, stdout io.Writer) error {
	path := dbPath(getenv)
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer store.Close()
	v, err := store.Ping(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is at schema version %d\n", path, v)
	return nil
}
