package partner

// ProblemTypePrefix begins the type of every RFC 9457 problem ketenbus
// answers, and a [Receiver] answers: "urn:ketenbus:problem:<reason>".
const ProblemTypePrefix = "urn:ketenbus:problem:"

// Types of the problems a [Receiver] answers with (Content-Type
// [ContentTypeProblem]). ketenbus reads them: `ketenbus partners probe`
// tells a refused signature from a refused token or a refused event.
const (
	// ProblemMethodNotAllowed: a method other than POST or OPTIONS (405).
	ProblemMethodNotAllowed = ProblemTypePrefix + "method-not-allowed"
	// ProblemOriginNotAllowed: the handshake's origin is not allowed (403).
	ProblemOriginNotAllowed = ProblemTypePrefix + "origin-not-allowed"
	// ProblemUnauthorized: the bearer token is missing or wrong (401).
	ProblemUnauthorized = ProblemTypePrefix + "unauthorized"
	// ProblemInvalidSignature: the Standard Webhooks signature or
	// timestamp does not verify (401).
	ProblemInvalidSignature = ProblemTypePrefix + "invalid-signature"
	// ProblemRetry: the handler asked for a later delivery (503).
	ProblemRetry = ProblemTypePrefix + "retry"
	// ProblemRejected: the handler refused the event (400).
	ProblemRejected = ProblemTypePrefix + "rejected"
	// ProblemGone: the handler asked to stop delivering (410).
	ProblemGone = ProblemTypePrefix + "gone"
	// ProblemHandlerFailed: the handler failed otherwise (500).
	ProblemHandlerFailed = ProblemTypePrefix + "handler-failed"
	// ProblemBodyTooLarge: the body exceeds MaxBodyBytes (413).
	ProblemBodyTooLarge = ProblemTypePrefix + "body-too-large"
	// ProblemUnreadableBody: the body could not be read (400).
	ProblemUnreadableBody = ProblemTypePrefix + "unreadable-body"
	// ProblemUnsupportedMediaType: not a CloudEvent content type (415).
	ProblemUnsupportedMediaType = ProblemTypePrefix + "unsupported-media-type"
	// ProblemInvalidEvent: the body is not a valid CloudEvent (400).
	ProblemInvalidEvent = ProblemTypePrefix + "invalid-event"
)
