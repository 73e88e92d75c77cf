package dwntest_test

import (
	"testing"

	"github.com/anya-org/anya-go/web5/internal/apitest"
)

func TestDocs(t *testing.T) {
	apitest.Zeros(t, ".")
	apitest.Docs(t, ".")
}
