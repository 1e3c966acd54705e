// Command natsauth writes the nats-server authorization block of a region:
// one user per ketenbus service, an admin user, and one user per
// NATS-native partner, with least-privilege permissions and passwords
// read from environment variables. From the repository root:
//
//	go run ./services/shared/natsauth/cmd/natsauth -region deploy/examples/region.yaml -o deploy/nats/authorization.conf
//
// With -account NAME it writes the region's account instead, for a server
// that holds several regions (deploy/nats/national.conf):
//
//	go run ./services/shared/natsauth/cmd/natsauth -region deploy/examples/region.yaml -account demo -o deploy/nats/accounts/demo.conf
//
// Without -o it writes to standard output.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

func main() {
	regionPath := flag.String("region", "deploy/examples/region.yaml", "region config file")
	out := flag.String("o", "", "file to write (default standard output)")
	account := flag.String("account", "", "write the region's account of this name, for a server of several regions (default: the authorization block of a server of one region)")
	flag.Parse()
	if err := run(*regionPath, *account, *out); err != nil {
		fmt.Fprintln(os.Stderr, "natsauth:", err)
		os.Exit(1)
	}
}

func run(regionPath, account, out string) error {
	if flag.NArg() > 0 {
		return errors.New("unexpected arguments; use -region FILE, -account NAME and -o FILE")
	}
	cfg, err := region.Load(regionPath)
	if err != nil {
		return err
	}
	text, err := natsauth.Authorization(cfg)
	if account != "" {
		text, err = natsauth.Account(cfg, account)
	}
	if err != nil {
		return err
	}
	if out == "" {
		_, err = os.Stdout.WriteString(text)
		return err
	}
	return os.WriteFile(out, []byte(text), 0o644)
}
