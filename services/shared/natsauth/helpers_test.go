package natsauth_test

import (
	"github.com/nats-io/nats.go"
)

// testRegion has two NATS-native partners and a webhook partner.
const testRegion = "testdata/region.yaml"

// The partners of testRegion.
const (
	partnerA   = "woningcorporatie" // NATS-native
	partnerB   = "schuldhulp"       // NATS-native
	webhookOne = "wijkteam"
)

// natsConnect connects as user with password and closes the connection at
// once; it reports whether the server let the user in.
func natsConnect(url, user, password string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.UserInfo(user, password), nats.MaxReconnects(0))
	if err != nil {
		return nil, err
	}
	nc.Close()
	return nc, nil
}
