package workflow_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/workflowtest"
)

func TestMemoryStoreConformance(t *testing.T) {
	workflowtest.Run(t, workflowtest.Backend{Open: func(testing.TB, string) workflow.Store { return workflow.NewMemoryStore() }, Synctest: true})
}

func TestSQLiteStoreConformance(t *testing.T) {
	workflowtest.Run(t, workflowtest.Backend{Open: openSQLite, Durable: true, Synctest: true})
}

func openSQLite(t testing.TB, dir string) workflow.Store {
	s, err := workflow.OpenSQLiteStore(context.Background(), filepath.Join(dir, "workflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
