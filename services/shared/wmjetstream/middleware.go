package wmjetstream

import (
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Recover is the Watermill middleware that turns a handler's panic into a
// nack: the message comes back after Backoff of its deliveries instead of
// the process dying with messages in flight, and the panic is logged with
// its stack. The panic's value is logged by its type only: it may have been
// made from the message, and a message may hold personal data.
func Recover(logger *slog.Logger, handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) (out []*message.Message, err error) {
			defer func() {
				if v := recover(); v != nil {
					logger.Error("handler panicked; the message comes back",
						slog.String("handler", handler),
						slog.Uint64("sequence", StreamSeq(msg)),
						slog.String("panic", fmt.Sprintf("%T", v)),
						slog.String("stack", string(debug.Stack())))
					SetNakDelay(msg, Backoff(NumDelivered(msg)))
					out, err = nil, fmt.Errorf("%s: handler panicked (%T)", handler, v)
				}
			}()
			return h(msg)
		}
	}
}
