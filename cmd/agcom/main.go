// Command agcom is the AgCom client for people and scripts: log in, send
// and read messages, keep the shared address book, and watch for new
// messages, against a running agcomd.
//
//	agcom login --handle alice --secret-file -   # reads the secret from stdin
//	agcom send bob --subject "Hello" --body "Ship it?"
//	agcom inbox
//	agcom watch
//
// Run `agcom help` for every command. Settings come from flags, then the
// environment (AGCOM_URL, AGCOM_TOKEN), then the configuration file that
// `agcom login` writes. Exit codes: 0 ok, 1 error, 2 usage, 3 not logged
// in or not allowed, 4 not found, 5 conflict, 6 rate limited or server
// unavailable.
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
)

// version is the CLI's version; release builds may set it with
// -ldflags "-X main.version=...".
var version = "1.0.0"

// Exit codes scripts can rely on.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2 // bad flags or arguments, or input the server rejected (400)
	exitAuth        = 3 // not logged in, token refused (401) or not allowed (403)
	exitNotFound    = 4
	exitConflict    = 5 // 409: the handle exists, or the version is stale
	exitUnavailable = 6 // rate limited, server busy or unreachable, after retries
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C asks the command to finish; a second one kills.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: it parses its own arguments and returns an
// error that run turns into a message and an exit code.
type command struct {
	name, synopsis string
	run            func(c *cli, ctx context.Context, args []string) error
}

// commands in the order `agcom help` lists them.
var commands = []command{
	{"login", "log in; the token is saved in the configuration file", (*cli).login},
	{"logout", "forget the saved token", (*cli).logout},
	{"send", "send a message, opening a thread", (*cli).send},
	{"broadcast", "send a message to each recipient in its own thread", (*cli).broadcast},
	{"inbox", "list your threads, newest activity first (--unread: your unread messages)", (*cli).inbox},
	{"read", "mark messages addressed to you read (--undo: unread)", (*cli).read},
	{"view", "show a thread and its messages", (*cli).view},
	{"reply", "reply to a message, or to a thread's latest message", (*cli).reply},
	{"search", "search the messages you can see", (*cli).search},
	{"attachment", "upload a file (put FILE) or download one (get ATTACHMENT -o FILE)", (*cli).attachment},
	{"contacts", "the shared address book: list, show, add, edit, remove, search", (*cli).contacts},
	{"archive", "archive a thread (--undo to unarchive)", (*cli).archive},
	{"unarchive", "unarchive a thread", (*cli).unarchive},
	{"audit", "list audit events", (*cli).audit},
	{"api-keys", "your API keys for scripts and CI: list, create, revoke", (*cli).apiKeys},
	{"watch", "stream new messages as they arrive, until interrupted", (*cli).watch},
	{"mcp", "serve MCP on stdin/stdout for an LLM client, forwarding to the server", (*cli).serveMCP},
	{"version", "print the CLI's version", (*cli).printVersion},
}

// run executes the command line args; it is main without the process.
// getenv reads the environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := &cli{getenv: getenv, stdout: stdout, stderr: stderr}
	fs := c.flagSet("agcom", stderr)
	fs.Usage = func() { c.usage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	args = fs.Args()
	if len(args) == 0 {
		c.usage(stderr)
		return exitUsage
	}
	name, args := args[0], args[1:]
	if name == "help" || name == "-h" || name == "--help" {
		c.usage(stdout)
		return exitOK
	}
	for _, cmd := range commands {
		if cmd.name == name {
			return c.exit(cmd.run(c, ctx, args))
		}
	}
	fmt.Fprintf(stderr, "agcom: unknown command %q: run `agcom help` for the list\n", name)
	return exitUsage
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, "usage: agcom [--url URL] [--token TOKEN] [--json] COMMAND [flags] [args]\n\ncommands:\n")
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", cmd.name, cmd.synopsis)
	}
	fmt.Fprint(w, `
Run `+"`agcom COMMAND -h`"+` for a command's flags. Global flags may also follow the
command.

The token may be an AgCom token, an API key (agk_…, see `+"`agcom api-keys`"+`) or
an access token of the identity provider the server trusts.

Settings, highest precedence first: flags; the environment (AGCOM_URL,
AGCOM_TOKEN); the configuration file `+"`agcom login`"+` writes, in your user
configuration directory (agcom/config.json; AGCOM_CONFIG names another file).
The default server is `+defaultURL+`.

Output is a readable table; --json prints the API's JSON objects instead.

Exit codes: 0 ok, 1 error, 2 usage (or input the server rejected), 3 not
logged in or not allowed, 4 not found, 5 conflict, 6 rate limited or server
unavailable (after retries).
`)
}

func (c *cli) printVersion(_ context.Context, args []string) error {
	if _, err := c.parse("version", "", args, 0, 0); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "agcom", version)
	return nil
}
