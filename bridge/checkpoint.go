package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Checkpoint keeps a bridge's position in the chain — the last block it processed — as a
// record (PathCheckpoint) in a tenant's store (the host's), so that a restarted bridge
// replays from there and misses nothing. One Checkpoint per bridge name; safe for concurrent
// use.
type Checkpoint struct {
	records *Records
	tenant  string
	name    string

	mu  sync.Mutex
	rec *dwn.Record
	cur bitcoin.BlockStamp
}

type checkpointData struct {
	Name  string             `json:"name"`
	Block bitcoin.BlockStamp `json:"block"`
}

// NewCheckpoint returns the checkpoint named name in tenant's store.
func NewCheckpoint(records *Records, tenant, name string) (*Checkpoint, error) {
	if records == nil || tenant == "" || name == "" {
		return nil, &OptionError{Option: "NewCheckpoint", Value: name, Reason: "needs records, a tenant and a name"}
	}
	return &Checkpoint{records: records, tenant: tenant, name: name}, nil
}

// Load returns the stored checkpoint, the zero BlockStamp when there is none.
func (c *Checkpoint) Load(ctx context.Context) (bitcoin.BlockStamp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec != nil {
		return c.cur, nil
	}
	recs, err := c.records.Query(ctx, c.tenant, PathCheckpoint, dwn.Filter{})
	if err != nil {
		return bitcoin.BlockStamp{}, err
	}
	for _, r := range recs {
		var d checkpointData
		if err := json.Unmarshal(r.Data, &d); err != nil {
			return bitcoin.BlockStamp{}, fmt.Errorf("bridge: checkpoint record %s: %w", r.ID, err)
		}
		if d.Name == c.name {
			c.rec, c.cur = r, d.Block
			return d.Block, nil
		}
	}
	return bitcoin.BlockStamp{}, nil
}

// Refresh reads the stored checkpoint again (another writer of the store may have moved it)
// and returns it.
func (c *Checkpoint) Refresh(ctx context.Context) (bitcoin.BlockStamp, error) {
	c.mu.Lock()
	c.rec, c.cur = nil, bitcoin.BlockStamp{}
	c.mu.Unlock()
	return c.Load(ctx)
}

// Save stores b as the checkpoint. The record is changed only from the version last read: when
// another writer moved the checkpoint since, Save fails with an error matching
// dwn.ErrConflict, changes nothing, and the next Load reads the stored one.
func (c *Checkpoint) Save(ctx context.Context, b bitcoin.BlockStamp) error {
	if _, err := c.Load(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d := checkpointData{Name: c.name, Block: b}
	var (
		rec *dwn.Record
		err error
	)
	if c.rec == nil {
		rec, err = c.records.Create(ctx, c.tenant, PathCheckpoint, d)
	} else {
		rec, err = c.records.UpdateIfLatest(ctx, c.tenant, c.rec, d)
	}
	if err != nil {
		if errors.Is(err, dwn.ErrConflict) {
			c.rec, c.cur = nil, bitcoin.BlockStamp{}
		}
		return err
	}
	c.rec, c.cur = rec, b
	return nil
}
