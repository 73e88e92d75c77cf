package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	sdk "github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
)

// dataDirEnv names the environment variable that gives --data-dir its default.
const dataDirEnv = "ANYA_DATA_DIR"

func dataDirFlag(fs *flag.FlagSet) *string {
	return fs.String("data-dir", os.Getenv(dataDirEnv), "the data directory (`DIR`) of a Manager, holding its SQLite databases (default $"+dataDirEnv+")")
}

// dataDir checks a --data-dir: given, and, unless create, an existing directory holding file.
func dataDir(dir, file string, create bool) (string, error) {
	if dir == "" {
		return "", usageError("--data-dir is required (or set %s)", dataDirEnv)
	}
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", &cliError{Code: "io", Err: fmt.Errorf("data directory: %w", err)}
		}
		return dir, nil
	}
	path := filepath.Join(dir, file)
	if _, err := os.Stat(path); err != nil {
		code := "io"
		if errors.Is(err, os.ErrNotExist) {
			code = "not_found"
		}
		return "", &cliError{Code: code, Err: fmt.Errorf("data directory %s: %w", dir, err)}
	}
	return dir, nil
}

// dwnFlags are the flags of the dwn commands.
type dwnFlags struct {
	dir, tenant, grant, gateway *string
	as                          *secret
}

func addDWNFlags(fs *flag.FlagSet) dwnFlags {
	return dwnFlags{
		dir:     dataDirFlag(fs),
		as:      addSecret(fs, "portable-did", inPortableDID, true, "the portable DID of the message's author"),
		tenant:  fs.String("tenant", "", "the tenant (`DID`) whose records store to use (default: the author)"),
		grant:   fs.String("grant", "", "a permission grant's record `ID` to act under, in another tenant's store"),
		gateway: gatewayFlag(fs),
	}
}

// open reads the author and opens the records store of the data directory (DWNFile) with a
// node over it; create makes the directory if needed. The caller closes the node and store.
func (f dwnFlags) open(ctx context.Context, e *env, create bool) (*did.BearerDID, string, *dwn.Node, *dwn.SQLiteStore, error) {
	dir, err := localDataDir(*f.dir, sdk.DWNFile, create)
	if err != nil {
		return nil, "", nil, nil, err
	}
	author, err := readBearer(ctx, e, f.as)
	if err != nil {
		return nil, "", nil, nil, err
	}
	tenant := *f.tenant
	if tenant == "" {
		tenant = author.String()
	}
	if _, err := did.Parse(tenant); err != nil {
		return nil, "", nil, nil, usageError("--tenant: %v", err)
	}
	r, err := resolver(*f.gateway)
	if err != nil {
		return nil, "", nil, nil, err
	}
	store, err := dwn.OpenSQLiteStore(ctx, filepath.Join(dir, sdk.DWNFile))
	if err != nil {
		return nil, "", nil, nil, &cliError{Code: "io", Err: err}
	}
	node, err := dwn.New(r, dwn.WithStore(store))
	if err != nil {
		_ = store.Close()
		return nil, "", nil, nil, err
	}
	return author, tenant, node, store, nil
}

func (f dwnFlags) opts() []dwn.MessageOption {
	if *f.grant == "" {
		return nil
	}
	return []dwn.MessageOption{dwn.WithPermissionGrant(*f.grant)}
}

// dwnError gives a records store error its CLI code.
func dwnError(err error) error {
	var (
		auth      *dwn.AuthError
		forbidden *dwn.ForbiddenError
		conflict  *dwn.ConflictError
		msg       *dwn.MessageError
		re        *did.ResolutionError
	)
	switch {
	case errors.As(err, &re):
		return resolutionError(err)
	case errors.As(err, &auth):
		return &cliError{Code: "unauthorized", Err: err}
	case errors.As(err, &forbidden):
		return &cliError{Code: "forbidden", Err: err}
	case errors.As(err, &conflict), errors.Is(err, dwn.ErrConflict):
		return &cliError{Code: "conflict", Err: err}
	case errors.As(err, &msg):
		return &cliError{Code: "invalid_message", Err: err}
	case errors.Is(err, dwn.ErrNotFound):
		return &cliError{Code: "not_found", Err: err}
	case errors.Is(err, dwn.ErrStale):
		return &cliError{Code: "stale", Err: err}
	}
	return err
}

// recordJSON is a record as the dwn commands print it.
type recordJSON struct {
	ID            string `json:"recordId"`
	ContextID     string `json:"contextId,omitempty"`
	Author        string `json:"author"`
	Protocol      string `json:"protocol,omitempty"`
	ProtocolPath  string `json:"protocolPath,omitempty"`
	Schema        string `json:"schema,omitempty"`
	Recipient     string `json:"recipient,omitempty"`
	ParentID      string `json:"parentId,omitempty"`
	DataFormat    string `json:"dataFormat"`
	DataCID       string `json:"dataCid"`
	DataSize      int64  `json:"dataSize"`
	Published     bool   `json:"published"`
	DateCreated   string `json:"dateCreated"`
	DatePublished string `json:"datePublished,omitempty"`
	DateUpdated   string `json:"dateUpdated"`
	// Data is the data as text when it is UTF-8, else DataBase64 holds it.
	Data       *string `json:"data,omitempty"`
	DataBase64 string  `json:"dataBase64,omitempty"`
}

func recordOf(r *dwn.Record, withData bool) recordJSON {
	out := recordJSON{ID: r.ID, ContextID: r.ContextID, Author: r.Author, Protocol: r.Protocol, ProtocolPath: r.ProtocolPath,
		Schema: r.Schema, Recipient: r.Recipient, ParentID: r.ParentID, DataFormat: r.DataFormat, DataCID: r.DataCID,
		DataSize: r.DataSize, Published: r.Published, DateCreated: r.DateCreated, DatePublished: r.DatePublished,
		DateUpdated: r.DateUpdated}
	if withData && r.Data != nil {
		if utf8.Valid(r.Data) {
			s := string(r.Data)
			out.Data = &s
		} else {
			out.DataBase64 = base64.StdEncoding.EncodeToString(r.Data)
		}
	}
	return out
}

func runDWNWrite(ctx context.Context, e *env, args []string) error {
	fs := newFlags("dwn write")
	f := addDWNFlags(fs)
	data := fs.String("data", "", "the record's `DATA` (the value, @FILE or -)")
	format := fs.String("data-format", "application/json", "the data's media `TYPE`")
	protocol := fs.String("protocol", "", "the protocol (`URI`) the record belongs to (installed in the tenant)")
	path := fs.String("path", "", "the record's protocol path `P` (\"thread/message\")")
	schema := fs.String("schema", "", "the record's schema `URI`")
	recipient := fs.String("recipient", "", "the record's recipient (`DID`)")
	published := fs.Bool("published", false, "publish the record: anyone may read it")
	update := fs.String("update", "", "replace the data of the record `RECORD_ID` (by its author)")
	if err := noArgs(fs, args, "data"); err != nil {
		return err
	}
	if (*protocol == "") != (*path == "") {
		return usageError("dwn write: --protocol and --path go together")
	}
	body, err := e.read(inData, *data)
	if err != nil {
		return err
	}
	author, tenant, node, store, err := f.open(ctx, e, true)
	if err != nil {
		return err
	}
	defer store.Close()
	defer node.Close()
	w := dwn.Write{Data: body, DataFormat: *format, Schema: *schema, Protocol: *protocol, ProtocolPath: *path,
		Recipient: *recipient, Published: *published}
	if *update != "" {
		rec, err := store.Record(ctx, tenant, *update)
		if err != nil {
			return dwnError(err)
		}
		w = dwn.Write{Update: rec, Data: body, Published: *published}
		if flagSet(fs, "data-format") {
			w.DataFormat = *format
		}
	}
	msg, err := dwn.NewWrite(ctx, author, tenant, w, f.opts()...)
	if err != nil {
		return dwnError(err)
	}
	reply, err := node.Process(ctx, tenant, msg)
	if err != nil {
		return dwnError(err)
	}
	return writeJSON(e.stdout, map[string]any{"tenant": tenant, "record": recordOf(reply.Record, false)})
}

func runDWNQuery(ctx context.Context, e *env, args []string) error {
	fs := newFlags("dwn query")
	f := addDWNFlags(fs)
	var filter dwn.Filter
	fs.StringVar(&filter.Protocol, "protocol", "", "records of the protocol `URI`")
	fs.StringVar(&filter.ProtocolPath, "path", "", "records at the protocol path `P`")
	fs.StringVar(&filter.Schema, "schema", "", "records of the schema `URI`")
	fs.StringVar(&filter.Recipient, "recipient", "", "records for the recipient `DID`")
	fs.StringVar(&filter.Author, "author", "", "records by the author `DID`")
	fs.StringVar(&filter.RecordID, "record", "", "the record `RECORD_ID`")
	fs.StringVar(&filter.DataFormat, "data-format", "", "records of the media `TYPE`")
	limit := fs.Int("limit", dwn.DefaultQueryLimit, "at most `N` records")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *limit < 1 {
		return usageError("dwn query: --limit must be 1 or more")
	}
	author, tenant, node, store, err := f.open(ctx, e, false)
	if err != nil {
		return err
	}
	defer store.Close()
	defer node.Close()
	out := []recordJSON{}
	cursor := ""
	for len(out) < *limit {
		msg, err := dwn.NewQuery(ctx, author, tenant, dwn.Query{Filter: filter, Cursor: cursor, Limit: min(*limit-len(out), dwn.DefaultQueryLimit)}, f.opts()...)
		if err != nil {
			return dwnError(err)
		}
		reply, err := node.Process(ctx, tenant, msg)
		if err != nil {
			return dwnError(err)
		}
		for _, r := range reply.Records {
			out = append(out, recordOf(r, true))
		}
		if reply.Cursor == "" {
			break
		}
		cursor = reply.Cursor
	}
	return writeJSON(e.stdout, map[string]any{"tenant": tenant, "records": out})
}

func runDWNRead(ctx context.Context, e *env, args []string) error {
	fs := newFlags("dwn read")
	f := addDWNFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("dwn read: want one record ID, got %d arguments", len(pos))
	}
	author, tenant, node, store, err := f.open(ctx, e, false)
	if err != nil {
		return err
	}
	defer store.Close()
	defer node.Close()
	msg, err := dwn.NewRead(ctx, author, tenant, pos[0], f.opts()...)
	if err != nil {
		return dwnError(err)
	}
	reply, err := node.Process(ctx, tenant, msg)
	if err != nil {
		return dwnError(err)
	}
	return writeJSON(e.stdout, map[string]any{"tenant": tenant, "record": recordOf(reply.Record, true)})
}
