package dwn_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	syncpkg "sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/web5test"
)

type benchStore struct {
	name string
	open func(b *testing.B) dwn.Store
}

func benchStores() []benchStore {
	return []benchStore{
		{"memory", func(b *testing.B) dwn.Store { return dwn.NewMemoryStore() }},
		{"sqlite-memory", func(b *testing.B) dwn.Store {
			s, err := dwn.OpenSQLiteStore(context.Background(), sqlitex.Memory)
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"sqlite-file", func(b *testing.B) dwn.Store {
			s, err := dwn.OpenSQLiteStore(context.Background(), filepath.Join(b.TempDir(), "dwn.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
}

// BenchmarkProcess measures a node end to end (signature verification included) on each
// store: a write of a 100-byte record, a read, and a query returning 10 records; a bare
// ed25519.Verify of one signature is the reference the ratios in the README are taken
// against.
func BenchmarkProcess(b *testing.B) {
	ctx := context.Background()
	alice := web5test.Alice(b)
	tenant := alice.String()
	net := web5test.NewNetwork(b)
	for _, st := range benchStores() {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			defer s.Close()
			node, err := dwn.New(net.Resolver(b), dwn.WithStore(s))
			if err != nil {
				b.Fatal(err)
			}
			var last *dwn.Message
			for i := range 10 {
				last, _ = dwn.NewWrite(ctx, alice, tenant, dwn.Write{Schema: "https://example.com/bench", DataFormat: "text/plain", Data: []byte(fmt.Sprint("seed ", i))})
				if _, err := node.Process(ctx, tenant, last); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("write", func(b *testing.B) {
				b.ReportAllocs()
				msgs := make([]*dwn.Message, b.N)
				for i := range msgs {
					msgs[i], _ = dwn.NewWrite(ctx, alice, tenant, dwn.Write{DataFormat: "text/plain", Data: fmt.Appendf(make([]byte, 0, 100), "%0100d", i)})
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := node.Process(ctx, tenant, msgs[i]); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("read", func(b *testing.B) {
				b.ReportAllocs()
				m, _ := dwn.NewRead(ctx, alice, tenant, last.RecordID())
				for b.Loop() {
					if _, err := node.Process(ctx, tenant, m); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("query10", func(b *testing.B) {
				b.ReportAllocs()
				m, _ := dwn.NewQuery(ctx, alice, tenant, dwn.Query{Filter: dwn.Filter{Schema: "https://example.com/bench"}})
				for b.Loop() {
					r, err := node.Process(ctx, tenant, m)
					if err != nil || len(r.Records) != 10 {
						b.Fatal(err)
					}
				}
			})
		})
	}
	b.Run("ed25519.Verify", func(b *testing.B) {
		b.ReportAllocs()
		pub, priv, _ := ed25519.GenerateKey(nil)
		msg := []byte("eyJhbGciOiJFZERTQSJ9.eyJkZXNjcmlwdG9yQ2lkIjoiYmFmeXJlaSJ9")
		sig := ed25519.Sign(priv, msg)
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("bad signature")
			}
		}
	})
}

func BenchmarkParseMessage(b *testing.B) {
	ctx := context.Background()
	alice := web5test.Alice(b)
	m, _ := dwn.NewWrite(ctx, alice, alice.String(), dwn.Write{Protocol: "https://example.com/chat", ProtocolPath: "thread",
		Schema: "https://example.com/thread", DataFormat: "application/json", Data: []byte(`{"title":"lunch"}`)})
	raw, _ := json.Marshal(m)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := dwn.ParseMessage(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrantedWrite measures what a host pays per record it writes into another tenant's
// store: a protocol record written under a permission grant (the grant and the protocol
// definition are checked on every write), each message built beforehand. op=create writes new
// records; op=update rewrites the data of 100 existing ones in turn (a bridge keeping records
// up to date).
func BenchmarkGrantedWrite(b *testing.B) {
	ctx := context.Background()
	alice, host := web5test.Alice(b), web5test.Issuer(b)
	tenant := alice.String()
	net := web5test.NewNetwork(b)
	const vault = "https://example.com/vault"
	def, err := dwn.ParseProtocol([]byte(`{"protocol": "` + vault + `", "published": false,
		"types": {"item": {"dataFormats": ["application/json"]}}, "structure": {"item": {}}}`))
	if err != nil {
		b.Fatal(err)
	}
	data := func(i int) []byte {
		return fmt.Appendf(nil, `{"payment_id":"p-%d","txid":"%064d","amount_sat":15000,"risk":0.01}`, i, i)
	}
	for _, st := range benchStores() {
		for _, op := range []string{"create", "update", "create-batch100", "update-batch100"} {
			b.Run(st.name+"/op="+op, func(b *testing.B) {
				s := st.open(b)
				defer s.Close()
				node, err := dwn.New(net.Resolver(b), dwn.WithStore(s))
				if err != nil {
					b.Fatal(err)
				}
				m, err := dwn.NewProtocolsConfigure(ctx, alice, tenant, def)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := node.Process(ctx, tenant, m); err != nil {
					b.Fatal(err)
				}
				m, err = dwn.NewGrant(ctx, alice, dwn.Grant{Grantee: host.String(), Expires: time.Now().Add(time.Hour),
					Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite, Protocol: vault}})
				if err != nil {
					b.Fatal(err)
				}
				r, err := node.Process(ctx, tenant, m)
				if err != nil {
					b.Fatal(err)
				}
				grant := r.Record.ID
				create := func(i int) *dwn.Message {
					m, err := dwn.NewWrite(ctx, host, tenant, dwn.Write{Protocol: vault, ProtocolPath: "item",
						DataFormat: "application/json", Data: data(i)}, dwn.WithPermissionGrant(grant))
					if err != nil {
						b.Fatal(err)
					}
					return m
				}
				msgs := make([]*dwn.Message, b.N)
				if strings.HasPrefix(op, "create") {
					for i := range msgs {
						msgs[i] = create(i)
					}
				} else {
					recs := make([]*dwn.Record, 100)
					for i := range recs {
						r, err := node.Process(ctx, tenant, create(i))
						if err != nil {
							b.Fatal(err)
						}
						recs[i] = r.Record
					}
					start := time.Now()
					for i := range msgs {
						if msgs[i], err = dwn.NewWrite(ctx, host, tenant, dwn.Write{Update: recs[i%len(recs)], Data: data(b.N + i)},
							dwn.WithPermissionGrant(grant), dwn.WithTimestamp(start.Add(time.Duration(i)*time.Microsecond))); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime()
				if strings.HasSuffix(op, "-batch100") {
					batch := make([]dwn.Envelope, 0, 100)
					for i := 0; i < b.N; i += 100 {
						batch = batch[:0]
						for _, m := range msgs[i:min(i+100, b.N)] {
							batch = append(batch, dwn.Envelope{Tenant: tenant, Message: m})
						}
						if _, err := node.ProcessMany(ctx, batch); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					for i := range b.N {
						if _, err := node.Process(ctx, tenant, msgs[i]); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkStorePut measures a SQLite store's puts of new records from 8 goroutines at once, on
// a file with each commit kept across a crash of the process (sqlitex.SyncNormal, the default)
// or of the machine (sqlitex.SyncFull, an fsync per commit). Records are signed beforehand.
func BenchmarkStorePut(b *testing.B) {
	ctx := context.Background()
	alice := web5test.Alice(b)
	tenant := alice.String()
	for _, sync := range []sqlitex.Sync{sqlitex.SyncNormal, sqlitex.SyncFull} {
		b.Run("sync="+sync.String(), func(b *testing.B) {
			db, err := sqlitex.Open(ctx, filepath.Join(b.TempDir(), "dwn.db"), sqlitex.WithSync(sync))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s, err := dwn.NewSQLiteStore(ctx, db)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			recs := make(chan *dwn.Record, b.N)
			for i := range b.N {
				m, err := dwn.NewWrite(ctx, alice, tenant, dwn.Write{DataFormat: "application/json", Data: fmt.Appendf(nil, `{"n":%d}`, i)})
				if err != nil {
					b.Fatal(err)
				}
				d := m.Descriptor()
				recs <- &dwn.Record{ID: m.RecordID(), Author: tenant, DataFormat: d.DataFormat, DataCID: d.DataCID, DataSize: d.DataSize,
					DateCreated: d.DateCreated, DateUpdated: d.MessageTimestamp, Initial: m, Latest: m, Data: fmt.Appendf(nil, `{"n":%d}`, i)}
			}
			close(recs)
			b.ReportAllocs()
			b.ResetTimer()
			var wg syncpkg.WaitGroup
			for range 8 {
				wg.Go(func() {
					for r := range recs {
						if err := s.PutRecord(ctx, tenant, r, ""); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
