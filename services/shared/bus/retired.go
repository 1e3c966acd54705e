package bus

// RetiredBucket is the JetStream key-value bucket of the webhook
// subscriptions the adapter retired after 410 Gone (see package adapter);
// the monitor and the CLI read it. streams.RetiredBucketConfig creates it.
const RetiredBucket = "ketenbus-retired"

// RetiredKey returns the key of a subscription in RetiredBucket:
// "<partner>.<subscription>".
func RetiredKey(partner, subscription string) string {
	return partner + "." + subscription
}

// BucketStream returns the name of the stream that holds bucket.
func BucketStream(bucket string) string { return "KV_" + bucket }
