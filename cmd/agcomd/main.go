// Command agcomd is the AgCom server. With no arguments it serves the API;
// subcommands help an operator:
//
//	agcomd                      serve (configuration from the environment and .env)
//	agcomd migrate              create or upgrade the database, then exit
//	agcomd token --handle NAME  print a token signed with SECRET_KEY
//	agcomd agent ...            manage registered agents on the store directly
//	agcomd backup --to FILE     copy the database consistently while it is in use
//	agcomd copy --from sqlite://PATH --to postgres://…
//	                            move a SQLite database into an empty PostgreSQL one
//	agcomd version              print the version
//
// While serving, SIGTERM and SIGINT stop the server gracefully and SIGHUP
// reads the TLS certificate and key files again.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/agcom/agcom/internal/config"
)

// version is the server's version; release builds may set it with
// -ldflags "-X main.version=...".
var version = "1.0.0"

// envFile is read for variables the environment does not set.
const envFile = ".env"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	getenv, err := config.FromEnvironment(envFile)
	if err == nil {
		err = run(ctx, os.Args[1:], getenv, os.Stdout, os.Stderr)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "agcomd:", err)
		os.Exit(1)
	}
}

// run executes the command line args; it is main without the process.
func run(ctx context.Context, args []string, getenv config.Getenv, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, getenv, stderr)
	case "migrate":
		return migrate(ctx, getenv, stdout)
	case "token":
		return token(ctx, args, getenv, stdout, stderr)
	case "agent":
		return agent(ctx, args, getenv, stdout, stderr)
	case "backup":
		return backup(ctx, args, getenv, stdout, stderr)
	case "copy":
		return copyDB(ctx, args, getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

const usage = `usage: agcomd [command]

commands:
  serve                  serve the API (the default)
  migrate                create or upgrade the database, then exit
  token --handle NAME    print a token signed with SECRET_KEY
        [--display-name NAME] [--ttl 1h]
  agent add HANDLE [--display-name NAME] [--admin]
  agent list
  agent disable|enable|promote|demote HANDLE
  agent rotate-secret HANDLE
  agent revoke-tokens HANDLE
                         end every token issued to HANDLE so far
  backup --to FILE       write a consistent copy of the database (server may run)
  copy --from sqlite://PATH [--to postgres://…] [--attachments DIR]
                         copy a SQLite database, attachments included, into
                         an empty PostgreSQL database (--to defaults to
                         DATABASE_URL, --attachments to ATTACHMENTS_DIR)
  version                print the version

Configuration comes from the environment and ./.env; see .env.example.
`
