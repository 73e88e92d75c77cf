package dwn_test

import (
	"testing"

	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/dwn/dwntest"
)

func TestMemoryStoreConformance(t *testing.T) {
	dwntest.Run(t, func(t *testing.T) dwn.Store { return dwn.NewMemoryStore() })
}
