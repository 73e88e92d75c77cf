package main

import (
	"encoding/json"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// mainEnv, when set, makes the test binary run the CLI's main with the JSON array of arguments
// it holds: the tests that need a process of their own (SIGINT) run the CLI this way.
const mainEnv = "ANYA_CLI_TEST_MAIN"

// The score commands start engines, the Manager commands a Manager, node a btcd: every one
// must be closed when its command returns.
func TestMain(m *testing.M) {
	if args := os.Getenv(mainEnv); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			panic(err)
		}
		os.Args = append([]string{"anya"}, a...)
		main()
		return
	}
	goleak.VerifyTestMain(m)
}
