package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/config"
)

// serve runs the server until ctx is cancelled. SIGHUP reads the TLS
// certificate again; it does not stop the server.
func serve(ctx context.Context, getenv config.Getenv, logOut io.Writer) error {
	// Registered first: SIGHUP's default action would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, version, logOut)
	if err != nil {
		return err
	}
	defer a.Close()
	ls, err := a.Listen()
	if err != nil {
		return err
	}
	go func() {
		for {
			select {
			case <-hup:
				a.ReloadTLS() // logs the outcome; a failure keeps the old certificate
			case <-ctx.Done():
				return
			}
		}
	}()
	return a.Serve(ctx, ls)
}

// dbPath is DB_PATH or its default.
func dbPath(getenv config.Getenv) string {
	if v, ok := getenv("DB_PATH"); ok && v != "" {
		return v
	}
	return config.DefaultDBPath
}

// openStore opens (and migrates) the store the environment names: the
// PostgreSQL database at DATABASE_URL when it is set, otherwise the SQLite
// file at DB_PATH. The operator commands need nothing else (no SECRET_KEY).
// name describes the store for messages, without the URL's password.
func openStore(ctx context.Context, getenv config.Getenv) (store app.Store, name string, err error) {
	cfg := config.Config{DBPath: dbPath(getenv), DBBusyTimeout: config.DefaultBusyTimeout}
	name = cfg.DBPath
	if v, ok := getenv("DATABASE_URL"); ok && v != "" {
		cfg.DatabaseURL, name = v, "the PostgreSQL database"
	}
	store, err = app.OpenStore(ctx, cfg)
	return store, name, err
}

func migrate(ctx context.Context, getenv config.Getenv, stdout io.Writer) error {
	store, name, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	v, err := store.Ping(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is at schema version %d\n", name, v)
	return nil
}
