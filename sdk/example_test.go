package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

// Two agents exchange messages. Alice logs in with her handle and secret
// (the Client renews her token before it expires); Bob uses a token the
// operator minted with `agcomd token --handle bob`.
func ExampleClient() {
	// A real server on a temporary database, so the example runs as is;
	// against your own server, use its URL, such as http://127.0.0.1:8000.
	dir, err := os.MkdirTemp("", "agcom-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, stop, err := boot(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	baseURL, bobToken := srv.URL, srv.mint("bob")

	ctx := context.Background()
	alice, err := sdk.New(baseURL, sdk.WithLogin("alice", aliceSecret))
	if err != nil {
		log.Fatal(err)
	}
	bob, err := sdk.New(baseURL, sdk.WithToken(bobToken))
	if err != nil {
		log.Fatal(err)
	}

	msg, err := alice.SendMessage(ctx, agcomv1.SendMessageRequest{
		ToHandles: []string{"bob"}, Subject: "Deploy", Body: "Ship it?",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("alice to %v: %s\n", msg.ToHandles, msg.Body)

	inbox, err := bob.ListThreads(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, th := range inbox.Threads {
		fmt.Printf("bob's inbox: %q with %v\n", th.Subject, th.ParticipantHandles)
	}

	reply, err := bob.ReplyToMessage(ctx, msg.MessageId, agcomv1.ReplyRequest{Body: "Yes, go."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bob to %v: %s\n", reply.ToHandles, reply.Body)

	// Errors are *sdk.Error, decoded from the API's error envelope.
	_, err = bob.GetThread(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Type, sdk.IsNotFound(err))
	}
	// Output:
	// alice to [bob]: Ship it?
	// bob's inbox: "Deploy" with [alice bob]
	// bob to [alice]: Yes, go.
	// 404 NotFound true
}
