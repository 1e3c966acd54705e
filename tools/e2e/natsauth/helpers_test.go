package natsauth_test

// testRegion is the region of the natsauth tests: two NATS-native
// partners and a webhook partner.
const testRegion = "../../../services/shared/natsauth/testdata/region.yaml"

// The partners of testRegion.
const (
	partnerA   = "woningcorporatie" // NATS-native
	partnerB   = "schuldhulp"       // NATS-native
	webhookOne = "wijkteam"
)
