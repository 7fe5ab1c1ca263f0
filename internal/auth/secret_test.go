package auth

import (
	"context"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

// TestHasherBound: with every slot taken, a check waits hashWait, then
// answers ServiceUnavailable instead of hashing beside the others; a slot
// given back serves the next check.
func TestHasherBound(t *testing.T) {
	h := NewHasher(1)
	hash, err := HashSecret("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	release, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = h.Check(context.Background(), hash, "s3cret")
	if agcom.ErrorCode(err) != agcom.EUNAVAILABLE {
		t.Fatalf("check with no free slot: %v, want EUNAVAILABLE", err)
	}
	if d := time.Since(start); d < hashWait {
		t.Errorf("refused after %v, want after waiting %v", d, hashWait)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := h.NewCredentials(ctx); err != context.Canceled {
		t.Errorf("a cancelled request waiting for a slot: %v, want context.Canceled", err)
	}
	release()
	if ok, err := h.Check(context.Background(), hash, "s3cret"); err != nil || !ok {
		t.Errorf("check after the slot was given back: %v, %v; want a match", ok, err)
	}
	if ok, err := h.Check(context.Background(), "", "s3cret"); err != nil || ok {
		t.Errorf("check against no hash: %v, %v; want no match", ok, err)
	}
}
