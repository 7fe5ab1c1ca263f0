package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/sqlite"
)

// seedBatch is how many messages one seeding transaction holds.
const seedBatch = 5000

// vocabulary makes bodies and subjects, and the words searches look for.
var vocabulary = strings.Fields(`deploy rollback latency budget planner router cache index
	schema migration backup restore token secret review merge branch release ticket incident
	alert metric trace span queue worker scheduler lease quorum replica shard vector prompt
	model agent thread inbox archive contact audit window sample buffer socket stream`)

// seedThread is what the scenarios need to know of a seeded thread.
type seedThread struct {
	id           string
	firstMessage string
	participants [2]int // agent indexes: participants[0] sent the first message
}

type seedData struct {
	threads []seedThread
}

func agentName(i int) string { return fmt.Sprintf("agent%04d", i) }

func sentence(rnd *rand.Rand, words int) string {
	var b strings.Builder
	for i := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocabulary[rnd.IntN(len(vocabulary))])
	}
	return b.String()
}

// seed fills a new database at path through the store: o.threads threads
// between two agents each, then replies spread over them until there are
// o.messages messages, and one contact per agent.
func seed(ctx context.Context, path string, o options) (*seedData, error) {
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	rnd := rand.New(rand.NewPCG(1, 2))
	data := &seedData{threads: make([]seedThread, 0, o.threads)}
	caller := func(i int) agcom.Caller { return agcom.Caller{Handle: agentName(i)} }

	err = store.Seed(ctx, func(tx agcom.Tx) error {
		sd := agcom.NewSeeder(tx)
		for i := range o.agents {
			_, err := sd.CreateContact(caller(i), agcom.Contact{
				Handle: agentName(i), DisplayName: "Agent " + agentName(i), Description: sentence(rnd, 6),
				Tags: []string{vocabulary[i%len(vocabulary)]},
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	sent := 0
	for sent < o.messages {
		err := store.Seed(ctx, func(tx agcom.Tx) error {
			sd := agcom.NewSeeder(tx)
			for n := 0; n < seedBatch && sent < o.messages; n++ {
				if len(data.threads) < o.threads {
					a := rnd.IntN(o.agents)
					b := (a + 1 + rnd.IntN(o.agents-1)) % o.agents
					m, err := sd.Send(caller(a), agcom.NewMessage{
						ToHandles: []string{agentName(b)}, Subject: sentence(rnd, 4), Body: sentence(rnd, 30),
					})
					if err != nil {
						return err
					}
					data.threads = append(data.threads, seedThread{id: m.ThreadID, firstMessage: m.ID, participants: [2]int{a, b}})
				} else {
					th := data.threads[rnd.IntN(len(data.threads))]
					from := th.participants[rnd.IntN(2)]
					if _, err := sd.Reply(caller(from), th.firstMessage, agcom.Reply{Body: sentence(rnd, 30)}); err != nil {
						return err
					}
				}
				sent++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return data, nil
}
