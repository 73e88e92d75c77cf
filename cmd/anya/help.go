package main

import (
	"flag"
	"strings"
)

// helpDoc is what anya help prints.
type helpDoc struct {
	Usage    string        `json:"usage"`
	Errors   string        `json:"errors"`
	Secrets  string        `json:"secrets"`
	Commands []commandHelp `json:"commands"`
	Inputs   []inputSpec   `json:"inputs"`
}

type commandHelp struct {
	Command string `json:"command"`
	Usage   string `json:"usage"`
	Summary string `json:"summary"`
}

func help() helpDoc {
	h := helpDoc{
		Usage: "anya COMMAND [ARGS]: every command prints one JSON document on stdout; anya COMMAND --help shows a command's flags, " +
			"defaults, input limits and examples; inputs larger than their limit (max_bytes) are refused",
		Errors: `a failure prints {"error": {"code", "message"}} and exits 2 for a usage error, 1 otherwise; ` +
			"a verdict (a signature, credential, presentation or link that does not verify, a tampered audit log) is a result, exit 0",
		Secrets: "private keys, portable DIDs and passwords are read from a file (--NAME-file PATH), an environment variable " +
			"(--NAME-env VAR) or standard input (--NAME -), never only from the command line",
	}
	for _, c := range commands() {
		h.Commands = append(h.Commands, commandHelp{c.name(), c.usage(), c.summary})
	}
	for in := range numInputs {
		h.Inputs = append(h.Inputs, in.spec())
	}
	return h
}

// groupHelp lists the commands of a group ("anya psbt --help").
func groupHelp(g string) map[string]any {
	var cmds []commandHelp
	for _, c := range commands() {
		if c.path[0] == g {
			cmds = append(cmds, commandHelp{c.name(), c.usage(), c.summary})
		}
	}
	return map[string]any{"group": g, "commands": cmds}
}

// commandDoc is what anya COMMAND --help prints.
type commandDoc struct {
	Command  string      `json:"command"`
	Usage    string      `json:"usage"`
	Summary  string      `json:"summary"`
	Flags    []flagDoc   `json:"flags"`
	Inputs   []inputSpec `json:"inputs"`
	Examples []string    `json:"examples"`
}

type flagDoc struct {
	Flag    string `json:"flag"` // "--wif-file PATH"
	Default string `json:"default,omitempty"`
	Usage   string `json:"usage"`
}

func (c *command) help(hr *helpRequest) commandDoc {
	d := commandDoc{Command: c.name(), Usage: c.usage(), Summary: c.summary, Flags: []flagDoc{}, Inputs: []inputSpec{},
		Examples: examples()[c.name()]}
	hr.fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fd := flagDoc{Flag: "--" + f.Name, Usage: usage}
		if len(f.Name) == 1 {
			fd.Flag = "-" + f.Name
		}
		if name != "" {
			fd.Flag += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" {
			fd.Default = f.DefValue
		}
		d.Flags = append(d.Flags, fd)
	})
	for _, in := range c.inputs {
		d.Inputs = append(d.Inputs, in.spec())
	}
	if d.Examples == nil {
		d.Examples = []string{}
	}
	return d
}

// examples gives each command's examples, by command name; one line per command. A test runs
// every example's flags through its command's flag set.
func examples() map[string][]string {
	return map[string][]string{
		"setup":              {"anya setup", "anya setup --force"},
		"message sign":       {"anya message sign --address bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l --message 'Hello World' --wif-file key.wif", "ANYA_WIF=$(cat key.wif) anya message sign --address ADDR --message hi --wif-env ANYA_WIF"},
		"message verify":     {"anya message verify --address 15CRxFdyRpGZLW9w8HnHvVduizdL5jKNbs --message 'Trust no one' --signature @sig.txt"},
		"tx features":        {"anya tx features 0200000001...", "bitcoin-cli getrawtransaction TXID | anya tx features -"},
		"model train":        {"anya model train --out models --model reputation"},
		"model card":         {"anya model card fraud@1", "anya model card reputation --dir models"},
		"score tx":           {"anya score tx @tx.hex --backend go --factors 3"},
		"score block":        {"anya score block block.blk --backend go", "bitcoin-cli getblock HASH 0 | anya score block - --all"},
		"score features":     {`anya score features '{"n_inputs": 5, "did_age_days": 2}' --backend go`, "anya score features @features.json --model reputation"},
		"did create":         {"anya did create --method key", "anya did create --method dht --key-type secp256k1 --gateway https://gateway.example --out alice.json"},
		"did resolve":        {"anya did resolve did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY", "anya did resolve did:dht:... --gateway https://gateway.example"},
		"vc issue":           {"anya vc issue --portable-did issuer.json --subject did:key:z6Mk... --type KYCCredential --claims '{\"level\":\"full\"}'"},
		"vc verify":          {"anya vc verify @credential.jwt"},
		"vp create":          {"anya vp create --portable-did holder.json --credential @kyc.jwt --definition @definition.json --nonce n-42"},
		"vp verify":          {"anya vp verify @vp.jwt --nonce n-42 --definition @definition.json"},
		"pex evaluate":       {"anya pex evaluate --definition @definition.json @vp.jwt", "anya pex evaluate --definition @definition.json --credential @a.jwt --credential @b.jwt"},
		"status-list create": {"anya status-list create --portable-did issuer.json --url https://issuer.example/status/1 --set 7,42"},
		"status-list check":  {"anya status-list check @credential.jwt --list @status-1.jwt"},
		"link challenge":     {"anya link challenge --data-dir anya-data --portable-did alice.json --wif-file alice.wif", "anya link challenge --data-dir anya-data --portable-did alice.json --address bcrt1q..."},
		"link prove":         {"anya link prove --challenge @challenge.txt --address bcrt1q... --wif-file alice.wif"},
		"link verify":        {"anya link verify --data-dir anya-data --did did:key:z6Mk... --address bcrt1q..."},
		"pay":                {"anya pay --data-dir anya-data --portable-did alice.json --wif-file alice.wif --to bcrt1q... --amount 25000 --id order-42", "anya pay --data-dir anya-data --portable-did alice.json --wif-env ALICE_WIF --to bcrt1q... --amount 25000 --id order-43 --rpc 127.0.0.1:18334 --rpc-user anya --rpc-pass-file rpc.pass", "anya pay --data-dir host-b --portable-did alice.json --wif-file alice.wif --to bcrt1q... --amount 25000 --id order-44 --rpc 127.0.0.1:18334 --rpc-user anya --rpc-pass-file rpc.pass --nats nats://127.0.0.1:4222"},
		"payment show":       {"anya payment show order-42 --data-dir anya-data"},
		"payment list":       {"anya payment list --data-dir anya-data --did did:key:z6Mk..."},
		"workflow run":       {"anya workflow run cautious_payment.json --data-dir anya-data --id c-1 --portable-did alice.json --wif-file alice.wif --input @input.json"},
		"dwn write":          {"anya dwn write --data-dir anya-data --portable-did alice.json --data '{\"note\":\"hi\"}' --data-format application/json --published"},
		"dwn query":          {"anya dwn query --data-dir anya-data --portable-did alice.json --data-format application/json"},
		"dwn read":           {"anya dwn read bafyrei... --data-dir anya-data --portable-did alice.json"},
		"psbt create":        {"anya psbt create --coin 3b7e...:0:100000:bcrt1q... --to bcrt1q...:25000 --change bcrt1q... --fee-rate 2"},
		"psbt sign":          {"anya psbt sign @unsigned.psbt --wif-file key.wif"},
		"psbt combine":       {"anya psbt combine @alice.psbt @bob.psbt"},
		"psbt finalize":      {"anya psbt finalize @signed.psbt"},
		"psbt decode":        {"anya psbt decode @tx.psbt", "anya psbt decode cHNidP8B..."},
		"multisig create":    {"anya multisig create --threshold 2 --pubkey 02... --pubkey 03... --pubkey 02... --network regtest", "anya multisig create --threshold 2 --pubkey 02... --pubkey 03... --kind taproot"},
		"address decode":     {"anya address decode bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "anya address decode tb1q... --network signet"},
		"address encode":     {"anya address encode --script 0014751e76e8199196d454941c45d1b3a323f1433bd6", "anya address encode --pubkey 0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798 --type p2tr --network testnet"},
		"audit verify":       {"anya audit verify --data-dir anya-data", "anya audit verify --data-dir anya-data --signed-head @head.jwt --signer did:key:z6Mk..."},
		"audit tail":         {"anya audit tail --data-dir anya-data -n 20"},
		"console":            {"anya console --data-dir anya-data", "anya console --data-dir anya-data --listen 127.0.0.1:8080 --password-file console.pass --writes"},
		"node":               {"anya node", "anya node --mining-address bcrt1q... --blocks 432"},
		"nats":               {"anya nats", "anya nats --store-dir nats-data --listen 127.0.0.1:4223"},
	}
}

// exampleArgs returns an example's arguments after the command's words, split as a shell
// would split the simple quoting the examples use.
func exampleArgs(ex string, c *command) []string {
	var args []string
	var cur strings.Builder
	quote := byte(0)
	in := false
	for i := 0; i < len(ex); i++ {
		ch := ex[i]
		switch {
		case quote != 0 && ch == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(ch)
		case ch == '\'' || ch == '"':
			quote, in = ch, true
		case ch == '\\' && i+1 < len(ex):
			i++
			cur.WriteByte(ex[i])
			in = true
		case ch == ' ':
			if in {
				args = append(args, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if in {
		args = append(args, cur.String())
	}
	// Skip what comes before "anya" (a pipe, an environment assignment) and the words.
	for i, a := range args {
		if a == "anya" {
			return args[i+1+len(c.path):]
		}
	}
	return nil
}
